// The API edge's one translation of domain refusals (coordinator/refusal.ts) into XML-RPC Faults, with the
// fault codes HQueue clients and our compatibility checks rely on: 404, 409, -32602, and 1 for the rest.

import { Fault, FaultCode } from "../../shared/xmlrpc/types.js";
import { Refusal, type RefusalKind } from "../refusal.js";

const CODES: Record<RefusalKind, number> = {
  notFound: FaultCode.notFound,
  conflict: FaultCode.conflict,
  badArgument: FaultCode.badArgument,
  internal: FaultCode.internal,
};

/** The Fault `err` answers as: itself, a refusal's Fault, or null for an unexpected error. */
export function faultOf(err: unknown): Fault | null {
  if (err instanceof Fault) return err;
  if (err instanceof Refusal) return new Fault(CODES[err.kind], err.message);
  return null;
}

/** `err` as what a handler throws: a refusal becomes its Fault, anything else is left as it is. */
export function asFault(err: unknown): unknown {
  return faultOf(err) ?? err;
}
