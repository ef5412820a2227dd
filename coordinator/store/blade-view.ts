// A blade's health and history as getClientHealth and getClientAttempts show them (docs/COMPAT.md §10), for
// the API and the client page alike: times as Date, the recorded JSON as structs.

import type { XmlRpcStruct } from "../../shared/xmlrpc/types.js";
import type { Context } from "../context.js";
import { bladeHistory, readClientHealth } from "./blades.js";

/** A JSON record as an XML-RPC struct: times (`t`, `time`, `since`) as dateTime, nested values as JSON text. */
export function recordStruct(record: Record<string, unknown>): XmlRpcStruct {
  const out: XmlRpcStruct = {};
  for (const [key, value] of Object.entries(record)) {
    if ((key === "t" || key === "time" || key === "since") && typeof value === "number")
      out[key] = new Date(value);
    else if (typeof value === "string" || typeof value === "number" || typeof value === "boolean")
      out[key] = value;
    else if (Array.isArray(value)) out[key] = value.map((v) => (isRecord(v) ? recordStruct(v) : String(v)));
    else if (isRecord(value)) out[key] = recordStruct(value);
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function parsed(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return isRecord(value) ? value : { message: text };
  } catch {
    return { message: text };
  }
}

/** A client's quarantine, probation and blocklistings (the client is known to exist). */
export async function clientHealthView(ctx: Context, cid: number): Promise<XmlRpcStruct> {
  const health = await readClientHealth(ctx, cid);
  const q = health.quarantine;
  const now = Date.now();
  const out: XmlRpcStruct = {
    clientId: cid,
    quarantined: q !== null && q.until > now,
    probation: q !== null && q.probation && q.until <= now,
    blockedJobs: health.blocked.map((b) => ({ jobId: b.jobId, since: new Date(b.since) })),
  };
  if (q !== null) {
    out["quarantinedUntil"] = new Date(q.until);
    out["reason"] = recordStruct(parsed(q.reason));
  }
  return out;
}

/** A client's last `limit` attempts, newest first (limit within 1..MAX_HISTORY_READ). */
export async function clientAttemptsView(ctx: Context, cid: number, limit: number): Promise<XmlRpcStruct[]> {
  return (await bladeHistory(ctx, cid, limit)).map((text) => recordStruct(parsed(text)));
}
