// Bad-blade extensions (docs/COMPAT.md §10): getClientHealth(client) and getClientAttempts(client, limit) to
// see a blade's quarantine, blocklistings and history; getJobBlocklist(job_id) for a job tree's blades;
// releaseClient(client) and clearJobBlocklist(job_id, client?) to undo them. The records are
// coordinator/store/blades.ts and their views store/blade-view.ts; this module coerces arguments.

import { Fault, FaultCode, type Methods, type XmlRpcValue } from "../../shared/xmlrpc/types.js";
import type { Context } from "../context.js";
import {
  clearJobBlocklist,
  MAX_HISTORY_READ,
  readJobBlocklist,
  releaseClient,
  rootOf,
} from "../store/blades.js";
import { clientAttemptsView, clientHealthView } from "../store/blade-view.js";
import { badArgument, id, isGiven, optionalInt } from "./args.js";
import { oneClient } from "./clients.js";

async function treeOf(ctx: Context, value: XmlRpcValue | undefined): Promise<number> {
  const jobId = id(value, "job_id");
  const root = await rootOf(ctx, jobId);
  if (root === null) throw new Fault(FaultCode.notFound, `job_id: no job ${jobId}`);
  return root;
}

export function bladesMethods(ctx: Context): Methods {
  return {
    getClientHealth: async ([client]) => clientHealthView(ctx, await oneClient(ctx, client, "client")),
    getClientAttempts: async ([client, limit]) => {
      const cid = await oneClient(ctx, client, "client");
      const n = optionalInt(limit, "limit", 50);
      if (n < 0 || n > MAX_HISTORY_READ) throw badArgument("limit", `expected 0 to ${MAX_HISTORY_READ}`);
      if (n === 0) return [];
      return clientAttemptsView(ctx, cid, n);
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
