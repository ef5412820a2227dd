// Farm-wide counts read at scrape time by /metrics and by the dashboard's utilisation snapshot
// (web/utilisation.ts): ZCARDs of the status sets and the queue, the cpus of the running jobs, a timed PING.
// Each function is one pipelined round trip; a failed read counts as 0.

import type { ClientState } from "../../shared/client-state.js";
import { JOB_STATUSES } from "../../shared/statuses.js";
import type { Context } from "../context.js";

/** The farm at one moment (computed by web/utilisation.ts, kept a minute at a time by store/history.ts). */
export interface Utilisation {
  /** CPUs of the clients that can take work now (busy or idle). */
  slotsTotal: number;
  /** Of those, CPUs held by running jobs (a job holds its `cpus`, at most the client's CPUs). */
  slotsBusy: number;
  clients: Record<ClientState, number>;
  /** Jobs in the dispatch queue (runnable). */
  waiting: number;
  running: number;
}

/** Jobs per status, in JOB_STATUSES order. */
export async function jobCountsByStatus(ctx: Context): Promise<number[]> {
  const pipeline = ctx.redis.pipeline();
  for (const status of JOB_STATUSES) pipeline.zcard(ctx.keys.jobsByStatus(status));
  return ((await pipeline.exec()) ?? []).map(([err, n]) => (err ? 0 : Number(n)));
}

/** One PING, timed: the Redis round trip in seconds. */
export async function redisRoundTrip(ctx: Context): Promise<number> {
  const started = process.hrtime.bigint();
  await ctx.redis.ping();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** Each job's `cpus` (0 when unreadable), the jobs in the dispatch queue and the running jobs. */
export async function cpusAndQueue(
  ctx: Context,
  jobIds: readonly number[],
): Promise<{ cpus: number[]; waiting: number; running: number }> {
  const pipeline = ctx.redis.pipeline();
  // `status` tells a job that is gone (0) from one whose cpus is absent (the default, 1).
  for (const id of jobIds) pipeline.hmget(ctx.keys.job(id), "cpus", "status");
  pipeline.zcard(ctx.keys.queue);
  pipeline.zcard(ctx.keys.jobsByStatus("running"));
  const replies = (await pipeline.exec()) ?? [];
  const cpus = replies.slice(0, jobIds.length).map(([err, v]) => {
    const [n, status] = err ? [] : (v as (string | null)[]);
    return status ? Number(n ?? 1) : 0;
  });
  const count = (i: number) => Number(replies[i]?.[1] ?? 0);
  return { cpus, waiting: count(jobIds.length), running: count(jobIds.length + 1) };
}
