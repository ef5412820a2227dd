// Who may read a job's environment (licence keys, tokens): with access control on, admins and the job's
// submitter (its `submittedBy` is the caller's user name); everyone else gets the variable names with the
// values masked. With access control off everyone reads everything, as with HQueue.

import { isStruct, type CallContext, type XmlRpcStruct } from "../../shared/xmlrpc/types.js";
import type { JobRecord } from "./jobs.js";

/** What a masked variable's value reads as. */
export const MASKED_VALUE = "********";

function mayRead(caller: CallContext, job: JobRecord): boolean {
  if (caller.role === undefined || caller.role === "admin") return true;
  return caller.user !== undefined && caller.user !== "" && caller.user === job.submittedBy;
}

/** Masks the `environment` of `attributes` (the reply for `job`) when `caller` may not read it. */
export function guardEnvironment(
  attributes: XmlRpcStruct,
  job: JobRecord,
  caller: CallContext,
): XmlRpcStruct {
  const environment = attributes.environment;
  if (!isStruct(environment) || mayRead(caller, job)) return attributes;
  attributes.environment = Object.fromEntries(Object.keys(environment).map((name) => [name, MASKED_VALUE]));
  return attributes;
}
