// Bad-blade extensions (docs/COMPAT.md §10): getClientHealth(client) and getClientAttempts(client, limit) to
// see a blade's quarantine, blocklistings and history; getJobBlocklist(job_id) for a job tree's blades;
// releaseClient(client) and clearJobBlocklist(job_id, client?) to undo them. The records are
// coordinator/store/blades.ts; this module coerces arguments and shapes replies.

import {
  Fault,
  FaultCode,
  type Methods,
  type XmlRpcStruct,
  type XmlRpcValue,
} from "../../shared/xmlrpc/types.js";
import type { Context } from "../context.js";
import {
  bladeHistory,
  clearJobBlocklist,
  MAX_HISTORY_READ,
  readClientHealth,
  readJobBlocklist,
  releaseClient,
  rootOf,
} from "../store/blades.js";
import { badArgument, id, isGiven, optionalInt } from "./args.js";
import { oneClient } from "./clients.js";

async function treeOf(ctx: Context, value: XmlRpcValue | undefined): Promise<number> {
  const jobId = id(value, "job_id");
  const root = await rootOf(ctx, jobId);
  if (root === null) throw new Fault(FaultCode.notFound, `job_id: no job ${jobId}`);
  return root;
}

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

export function bladesMethods(ctx: Context): Methods {
  return {
    getClientHealth: async ([client]) => {
      const cid = await oneClient(ctx, client, "client");
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
    },
    getClientAttempts: async ([client, limit]) => {
      const cid = await oneClient(ctx, client, "client");
      const n = optionalInt(limit, "limit", 50);
      if (n < 0 || n > MAX_HISTORY_READ) throw badArgument("limit", `expected 0 to ${MAX_HISTORY_READ}`);
      if (n === 0) return [];
      return (await bladeHistory(ctx, cid, n)).map((text) => recordStruct(parsed(text)));
    },
    getJobBlocklist: async ([jobId]) => {
      const root = await treeOf(ctx, jobId);
      return { jobId: root, clients: await readJobBlocklist(ctx, root) };
    },
    releaseClient: async ([client]) => releaseClient(ctx, await oneClient(ctx, client, "client")),
    clearJobBlocklist: async ([jobId, client]) => {
      const root = await treeOf(ctx, jobId);
      const cid = isGiven(client) ? await oneClient(ctx, client, "client") : null;
      return clearJobBlocklist(ctx, root, cid);
    },
  };
}
