// getAuditLog(filters) (openhq extension): the audit log (coordinator/audit/), newest first. `filters` is a
// struct, every member optional:
//   since, until   dateTime, or seconds since the epoch: entries at or after / before
//   user, method   exact user name ("anonymous" for calls without one) / method name
//   id             entries naming this job, client, group … id
//   limit          how many (default 100, at most MAX_AUDIT_READ)
//   before         the `next` of an earlier answer: the page after it
// Answers {entries, next}: each entry {cursor, time, user, address, via, method, ids, args, outcome, fault?};
// `next` is "" when nothing older matches (or the read looked at its bound of entries and stopped).
// Records hold no secrets (they are masked when recorded), so every reader sees the same.

import {
  Fault,
  FaultCode,
  isStruct,
  type Methods,
  type XmlRpcStruct,
  type XmlRpcValue,
} from "../../shared/xmlrpc/types.js";
import type { Context } from "../context.js";
import { MAX_AUDIT_READ, readAuditPage, type AuditQuery } from "../store/audit.js";
import { badArgument, describe, id, int, isGiven, optionalStr } from "./args.js";

const STREAM_ID = /^\d{1,20}-\d{1,20}$/;
const MAX_NAME = 256;

/** A time as ms since the epoch: a dateTime, or seconds since the epoch. */
function instant(value: XmlRpcValue | undefined, name: string): number | undefined {
  if (!isGiven(value)) return undefined;
  if (value instanceof Date) return value.getTime();
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return value * 1000;
  if (typeof value === "string" && /^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  throw badArgument(name, `expected a dateTime or seconds since the epoch, got ${describe(value)}`);
}

function name(value: XmlRpcValue | undefined, what: string): string | undefined {
  const text = optionalStr(value, what);
  if (text !== undefined && text.length > MAX_NAME)
    throw badArgument(what, `longer than ${MAX_NAME} characters`);
  return text === "" ? undefined : text;
}

export function auditQuery(filters: XmlRpcValue | undefined): AuditQuery {
  if (isGiven(filters) && !isStruct(filters))
    throw badArgument("filters", `expected a struct, got ${describe(filters)}`);
  const f: XmlRpcStruct = filters ?? {};
  const query: AuditQuery = { limit: 100 };
  const since = instant(f["since"], "since");
  const until = instant(f["until"], "until");
  if (since !== undefined) query.since = since;
  if (until !== undefined) query.until = until;
  const user = name(f["user"], "user");
  const method = name(f["method"], "method");
  if (user !== undefined) query.user = user;
  if (method !== undefined) query.method = method;
  if (isGiven(f["id"])) query.id = id(f["id"], "id");
  if (isGiven(f["limit"])) {
    const limit = int(f["limit"], "limit");
    if (limit < 1 || limit > MAX_AUDIT_READ)
      throw badArgument("limit", `expected 1 to ${MAX_AUDIT_READ}, got ${limit}`);
    query.limit = limit;
  }
  const before = f["before"];
  if (isGiven(before) && before !== "") {
    if (typeof before !== "string" || !STREAM_ID.test(before))
      throw badArgument("before", `expected a cursor from an earlier answer, got ${describe(before)}`);
    query.before = before;
  }
  const unknown = Object.keys(f).filter(
    (key) => !["since", "until", "user", "method", "id", "limit", "before"].includes(key),
  );
  if (unknown.length > 0)
    throw new Fault(FaultCode.badArgument, `filters: unknown member ${describe(unknown[0])}`);
  return query;
}

export function auditMethods(ctx: Context): Methods {
  return {
    // The records hold JSON values only (numbers, strings, lists, structs), which are XML-RPC values.
    getAuditLog: async ([filters]) => (await readAuditPage(ctx, auditQuery(filters))) as XmlRpcStruct,
  };
}
