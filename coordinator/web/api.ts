// The dashboard and /metrics read and act through the coordinator's public XML-RPC methods, called
// in-process: the web pages see exactly what a Python script sees, and no second data path can drift.

import { Fault, type CallContext, type Methods, type XmlRpcValue } from "../../shared/xmlrpc/types.js";
import { apiMethods } from "../api/index.js";
import type { Context } from "../context.js";

const perContext = new WeakMap<Context, Methods>();

export interface Api {
  call<T = XmlRpcValue>(method: string, ...params: XmlRpcValue[]): Promise<T>;
}

export function apiFor(ctx: Context, caller: CallContext = {}): Api {
  let methods = perContext.get(ctx);
  if (!methods) {
    methods = apiMethods(ctx);
    perContext.set(ctx, methods);
  }
  const all = methods;
  return {
    async call<T>(method: string, ...params: XmlRpcValue[]): Promise<T> {
      const handler = all[method];
      if (!handler) throw new Fault(-32601, `no such method: ${method}`);
      return (await handler(params, caller)) as T;
    },
  };
}
