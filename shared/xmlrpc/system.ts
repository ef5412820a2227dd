// The introspection and multicall methods Python's SimpleXMLRPCServer offers (register_introspection_functions
// + register_multicall_functions), answering exactly as it does.

import { Fault, FaultCode, isStruct, type CallContext, type Methods, type XmlRpcValue } from "./types.js";

export interface SystemHooks {
  /** Most calls one system.multicall may carry. */
  maxCalls: number;
  /** Every callable name, system.* included. */
  names(): string[];
  /** The help text of a method ("" when it has none or does not exist). */
  help(name: string): string;
  /** Runs one call as if it came alone: throws a Fault for a failed call, counted and logged like one. */
  invoke(name: string, params: XmlRpcValue[], ctx: CallContext): Promise<XmlRpcValue>;
}

function faultStruct(err: unknown): XmlRpcValue {
  const fault = err instanceof Fault ? err : new Fault(FaultCode.internal, String(err));
  return { faultCode: fault.faultCode, faultString: fault.faultString };
}

export function systemMethods(hooks: SystemHooks): Methods {
  return {
    "system.listMethods": () => hooks.names().sort(),
    "system.methodHelp": ([name]) => (typeof name === "string" ? hooks.help(name) : ""),
    "system.methodSignature": () => "signatures not supported",
    // Sequential on purpose: scripts batch dependent calls and expect them in order.
    "system.multicall": async ([calls], ctx) => {
      if (!Array.isArray(calls))
        throw new Fault(
          FaultCode.badArgument,
          "system.multicall expects a list of {methodName, params} structs",
        );
      if (calls.length > hooks.maxCalls)
        throw new Fault(
          FaultCode.badArgument,
          `system.multicall: ${calls.length} calls, over the limit of ${hooks.maxCalls} per request`,
        );
      const results: XmlRpcValue[] = [];
      for (const call of calls) {
        try {
          if (!isStruct(call))
            throw new Fault(FaultCode.badArgument, "a multicall entry must be a {methodName, params} struct");
          const { methodName, params } = call;
          if (typeof methodName !== "string")
            throw new Fault(FaultCode.badArgument, "a multicall entry needs a string methodName");
          if (params !== undefined && params !== null && !Array.isArray(params))
            throw new Fault(FaultCode.badArgument, "a multicall entry's params must be a list");
          results.push([await hooks.invoke(methodName, params ?? [], ctx)]);
        } catch (err) {
          results.push(faultStruct(err));
        }
      }
      return results;
    },
  };
}
