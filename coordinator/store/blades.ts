// Bad-blade records (written by the job transitions, lua/includes/bladeHealth.lua): a client's quarantine and
// blocklistings, a job tree's blocklist, a client's history of attempts, and the admin's ways out of them
// (releaseClient.lua, clearJobBlocklist.lua).

import type { Context } from "../context.js";
import { runScript } from "./lua-scripts.js";

/** Most history entries one read returns: the list itself is capped at 200 per client. */
export const MAX_HISTORY_READ = 200;

export interface Quarantine {
  /** ms; the client takes no new work before it. */
  until: number;
  /** From quarantine until a frame succeeds: one frame at a time once `until` has passed. */
  probation: boolean;
  /** Why, with the failures that caused it ({why, since, failures}, JSON as recorded). */
  reason: string;
}

export interface ClientHealth {
  quarantine: Quarantine | null;
  /** Root job ids the client is blocklisted for, oldest first, with when (ms). */
  blocked: { jobId: number; since: number }[];
}

export async function readClientHealth(ctx: Context, id: number): Promise<ClientHealth> {
  const [fields, blocked] = (await ctx.redis
    .multi()
    .hmget(ctx.keys.client(id), "quarantinedUntil", "probation", "quarantineReason")
    .zrange(ctx.keys.clientBlocked(id), "0", "-1", "WITHSCORES")
    .exec()) as [[Error | null, (string | null)[]], [Error | null, string[]]];
  const [until, probation, reason] = fields[1];
  const pairs = blocked[1];
  const out: ClientHealth["blocked"] = [];
  for (let i = 0; i + 1 < pairs.length; i += 2)
    out.push({ jobId: Number(pairs[i]), since: Number(pairs[i + 1]) });
  return {
    quarantine:
      until !== null || probation === "1"
        ? { until: Number(until ?? 0), probation: probation === "1", reason: reason ?? "" }
        : null,
    blocked: out,
  };
}

/** The root job ids client `id` is blocklisted for (at most 1,000, bladeHealth.lua CLIENT_BLOCKS). */
export async function blockedRoots(ctx: Context, id: number): Promise<number[]> {
  return (await ctx.redis.zrange(ctx.keys.clientBlocked(id), "0", "-1")).map(Number);
}

/** The root of job `jobId`'s tree (itself for a root); null for an unknown job. */
export async function rootOf(ctx: Context, jobId: number): Promise<number | null> {
  const [status, root] = await ctx.redis.hmget(ctx.keys.job(jobId), "status", "root");
  if (status === null) return null;
  return root === null ? jobId : Number(root);
}

/** A tree's blades: failures of its frames per client, and whether each is blocklisted. */
export async function readJobBlocklist(
  ctx: Context,
  root: number,
): Promise<{ clientId: number; failures: number; blocked: boolean }[]> {
  const [fails, blocked] = (await ctx.redis
    .multi()
    .hgetall(ctx.keys.jobBladeFails(root))
    .smembers(ctx.keys.jobBlocked(root))
    .exec()) as [[Error | null, Record<string, string>], [Error | null, string[]]];
  const ids = new Set([...Object.keys(fails[1]), ...blocked[1]]);
  return [...ids]
    .map(Number)
    .sort((a, b) => a - b)
    .map((clientId) => ({
      clientId,
      failures: Number(fails[1][String(clientId)] ?? 0),
      blocked: blocked[1].includes(String(clientId)),
    }));
}

/** A client's newest `limit` history entries (JSON text, as bladeHealth.lua recorded them), newest first. */
export async function bladeHistory(ctx: Context, id: number, limit: number): Promise<string[]> {
  return ctx.redis.lrange(ctx.keys.clientAttempts(id), 0, Math.min(limit, MAX_HISTORY_READ) - 1);
}

/** Ends a client's quarantine and probation at once; true when it had either. */
export async function releaseClient(ctx: Context, id: number): Promise<boolean> {
  return (await runScript(ctx.redis, ctx.keys.prefix, "releaseClient", [id])) === 1;
}

/** Takes blade `clientId` (null: every blade) off tree `root`'s blocklist; returns how many were on it. */
export async function clearJobBlocklist(
  ctx: Context,
  root: number,
  clientId: number | null,
): Promise<number> {
  return (await runScript(ctx.redis, ctx.keys.prefix, "clearJobBlocklist", [root, clientId ?? ""])) as number;
}
