// The Redis side of the job log store (coordinator/logs keeps the files, the folder marker and the timers):
// an attempt's window of chunks not on disk yet, its flush lock, the sweep's sets and the store's byte count.
// Keys: lua/includes/logKeys.lua. The moves that must agree with the files run as Lua (commitLog, sealLog,
// unlockLog, readLog); the rest are single commands.

import type { Context } from "../context.js";
import { runScript } from "./lua-scripts.js";
import { setOnce } from "./set-once.js";

/** What the Redis side of the log store needs of the coordinator's context. */
export type LogRedis = Pick<Context, "redis" | "keys">;

/** How much of an attempt's log file is committed: what a reader may read of it. */
export interface Committed {
  /** raw bytes in the file */
  base: number;
  /** compressed bytes */
  z: number;
  /** index records */
  n: number;
}

export interface LogState extends Committed {
  /** Bytes of the log so far (those past `base` wait in Redis). */
  bytes: number;
}

export interface LogView extends Committed {
  jobId: number;
  attempt: number;
  /** live: keys in Redis; sealed: all in the file store. */
  kind: "live" | "sealed" | "none";
  /** Bytes of the log so far. */
  bytes: number;
  /** Bytes dropped by a cap (-1: none). */
  cut: number;
  /** sha256 of a sealed log ("" otherwise). */
  sha256: string;
  /** The chunks read from Redis: bytes [from, bytes). */
  from: number;
  chunks: Buffer[];
}

/**
 * Where attempt `attempt` (null = the latest) of a job's log is (readLog.lua: the committed part of its file
 * and the chunks still in Redis, in one step so they agree); with `tailBytes` > 0 only the newest chunks.
 */
export async function readView(
  ctx: LogRedis,
  jobId: number,
  attempt: number | null,
  tailBytes = 0,
): Promise<LogView | null> {
  const args = [jobId, attempt ?? "", tailBytes];
  const reply = (await runScript(ctx.redis, ctx.keys.prefix, "readLog", args, "buffers")) as
    (Buffer | number)[] | null;
  if (!Array.isArray(reply)) return null;
  const text = (i: number): string => String(reply[i] ?? "");
  const num = (i: number): number => Number(text(i));
  return {
    jobId,
    attempt: num(0),
    kind: text(1) as LogView["kind"],
    bytes: num(2),
    base: num(3),
    z: num(4),
    n: num(5),
    cut: num(6),
    sha256: text(7),
    from: num(8),
    chunks: reply.slice(9) as Buffer[],
  };
}

/** The attempt's byte counts while its log is live, or null once sealed or deleted. */
export async function logState(ctx: LogRedis, jobId: number, attempt: number): Promise<LogState | null> {
  const m = await ctx.redis.hmget(ctx.keys.jobLog(jobId, attempt), "bytes", "base", "z", "n");
  if (m[0] === null) return null;
  const [bytes, base, z, n] = m.map(Number) as [number, number, number, number];
  return { bytes, base, z, n };
}

/** Chunks [from, from + count) of the attempt's list of chunks not on disk yet. */
export function waitingChunks(
  ctx: LogRedis,
  jobId: number,
  attempt: number,
  from: number,
  count: number,
): Promise<Buffer[]> {
  return ctx.redis.lrangeBuffer(ctx.keys.jobLogQueue(jobId, attempt), from, from + count - 1);
}

/** Takes the attempt's flush lock for `ms` unless another writer holds it (commitLog and sealLog check it). */
export async function lockLog(
  ctx: LogRedis,
  jobId: number,
  attempt: number,
  token: string,
  ms: number,
): Promise<boolean> {
  return (await ctx.redis.set(ctx.keys.jobLogLock(jobId, attempt), token, "PX", ms, "NX")) === "OK";
}

/** Runs commitLog.lua, sealLog.lua or unlockLog.lua (each documents its arguments and replies). */
export function logScript(
  ctx: LogRedis,
  name: "commitLog" | "sealLog" | "unlockLog",
  args: (string | number)[],
): Promise<unknown> {
  return runScript(ctx.redis, ctx.keys.prefix, name, args);
}

/** Up to `limit` unsealed attempts ("id:attempt") due for a look at `now`. */
export function dueOpenLogs(ctx: LogRedis, now: number, limit: number): Promise<string[]> {
  return ctx.redis.zrangebyscore(ctx.keys.logsOpen, "-inf", now, "LIMIT", 0, limit);
}

/** Puts off the next look at an unsealed attempt until `at` (a sweep's claim; only while it is listed). */
export async function lookAgainAt(ctx: LogRedis, member: string, at: number): Promise<void> {
  await ctx.redis.zadd(ctx.keys.logsOpen, "XX", at, member);
}

/** The attempt's log is sealed or gone: no sweep looks at it again. */
export async function closeOpenLog(ctx: LogRedis, member: string): Promise<void> {
  await ctx.redis.zrem(ctx.keys.logsOpen, member);
}

/** Up to `limit` deleted jobs whose files may go (deleted at or before `before`). */
export function dueTrash(ctx: LogRedis, before: number, limit: number): Promise<string[]> {
  return ctx.redis.zrangebyscore(ctx.keys.logsTrash, "-inf", before, "LIMIT", 0, limit);
}

/** The files of these deleted jobs are removed, freeing `freed` compressed bytes of the store's quota. */
export async function trashRemoved(ctx: LogRedis, ids: string[], freed: number): Promise<void> {
  if (freed > 0) {
    const left = await ctx.redis.decrby(ctx.keys.logsBytes, freed);
    if (left < 0) await ctx.redis.set(ctx.keys.logsBytes, 0);
  }
  await ctx.redis.zrem(ctx.keys.logsTrash, ...ids);
}

/** Stores `mine` as the log folder's marker unless the farm has one: returns the farm's and whether it is mine. */
export async function claimLogMarker(
  ctx: LogRedis,
  mine: string,
): Promise<{ marker: string; made: boolean }> {
  const { kept, created } = await setOnce(ctx.redis, ctx.keys.logsMarker, mine);
  return { marker: kept, made: created };
}

export async function dropLogMarker(ctx: LogRedis): Promise<void> {
  await ctx.redis.del(ctx.keys.logsMarker);
}
