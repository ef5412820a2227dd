// Reconciling what an agent says it runs with what Redis says it should run.

import type { Context } from "../context.js";
import type { RunningJob } from "../../shared/protocol.js";
import { assignedClients } from "../scheduler/assign.js";

const ALIVE = new Set(["running", "pausing", "paused", "resuming"]);

/**
 * The attempts of `hello.running` the farm no longer wants on this client: the job was given to another
 * client meanwhile, finished, was cancelled, or moved on to a later attempt. The agent kills those.
 */
export async function staleAttempts(
  ctx: Context,
  clientId: number,
  running: readonly RunningJob[],
): Promise<{ jobId: number; attempt: number }[]> {
  if (running.length === 0) return [];
  const pipe = ctx.redis.pipeline();
  for (const r of running) pipe.hmget(ctx.keys.job(r.jobId), "status", "attempt", "clients");
  const replies = (await pipe.exec()) ?? [];
  const stop: { jobId: number; attempt: number }[] = [];
  running.forEach((r, i) => {
    const [status, attempt, clients] = (replies[i]?.[1] ?? []) as (string | null)[];
    const mine =
      status != null &&
      ALIVE.has(status) &&
      Number(attempt) === r.attempt &&
      assignedClients({ clients: clients ?? "" }).some((c) => c.clientId === clientId);
    if (!mine) stop.push({ jobId: r.jobId, attempt: r.attempt });
  });
  return stop;
}
