// Reads of the dispatch queue for the scheduler (coordinator/scheduler/): the queue's head, the requirement
// classes in {p}queue:heads and the jobs of each class ({p}queue:class:{cls}). Keys and scores:
// store/keys.ts; the writes are the job transitions' (lua/, includes/util.lua).

import type { Context } from "../context.js";
import { runScript } from "./lua-scripts.js";

/** The ids of the first `count` jobs of the queue, in dispatch order. */
export async function queueHead(ctx: Context, count: number): Promise<number[]> {
  return (await ctx.redis.zrange(ctx.keys.queue, "0", String(count - 1))).map(Number);
}

/** Classes of {p}queue:heads by rank [offset, offset + count), as a flat [cls, score, cls, score, …] list. */
export function headsWithScores(ctx: Context, offset: number, count: number): Promise<string[]> {
  return ctx.redis.zrange(ctx.keys.queueHeads, String(offset), String(offset + count - 1), "WITHSCORES");
}

/** Classes of {p}queue:heads by rank [offset, offset + count). */
export function headClasses(ctx: Context, offset: number, count: number): Promise<string[]> {
  return ctx.redis.zrange(ctx.keys.queueHeads, String(offset), String(offset + count - 1));
}

/** The first job id of each class (0 for an empty class), in one round trip. */
export async function classHeads(ctx: Context, classes: readonly string[]): Promise<number[]> {
  const pipe = ctx.redis.pipeline();
  for (const cls of classes) pipe.zrange(ctx.keys.queueClass(cls), "0", "0");
  return ((await pipe.exec()) ?? []).map(([, ids]) => Number((ids as string[] | null)?.[0] ?? 0));
}

/**
 * Per request, up to `count` jobs of class `cls` with score from `from` (a ZRANGEBYSCORE bound: "(" = after)
 * as a flat [id, score, …] list; [] when the read failed. One round trip.
 */
export async function classPages(
  ctx: Context,
  requests: readonly { cls: string; from: string; count: number }[],
): Promise<string[][]> {
  const pipe = ctx.redis.pipeline();
  for (const r of requests)
    pipe.zrangebyscore(ctx.keys.queueClass(r.cls), r.from, "+inf", "WITHSCORES", "LIMIT", 0, r.count);
  const replies = (await pipe.exec()) ?? [];
  return requests.map((_r, i) => (replies[i]?.[1] ?? []) as string[]);
}

/** classPages, with each job's root (itself for a root), in one call (classPagesWithRoots.lua). */
export async function classPagesWithRoots(
  ctx: Context,
  requests: readonly { cls: string; from: string; count: number }[],
): Promise<{ pages: string[][]; roots: string[][] }> {
  const args = requests.flatMap((r) => [r.cls, r.from, r.count]);
  const reply = (await runScript(ctx.redis, ctx.keys.prefix, "classPagesWithRoots", args)) as string[][];
  return {
    pages: requests.map((_r, i) => reply[2 * i] ?? []),
    roots: requests.map((_r, i) => reply[2 * i + 1] ?? []),
  };
}

/** {p}queue:clock entries older than this are thinned to one a minute. */
export const CLOCK_FINE_MS = 3_600_000;

/**
 * Thins {p}queue:clock (util.lua markClock) in (from, now - CLOCK_FINE_MS] to the last entry of each minute,
 * and drops all but the newest entry while the queue is empty (no arrival before it waits). Returns where
 * the next call can start: a minute before the end, so a minute cut by the window is thinned whole.
 */
export async function thinClock(ctx: Context, from: number, now: number): Promise<number> {
  const { redis, keys } = ctx;
  const to = now - CLOCK_FINE_MS;
  if ((await redis.zcard(keys.queue)) === 0) await redis.zremrangebyrank(keys.queueClock, 0, -2);
  const flat = await redis.zrangebyscore(keys.queueClock, `(${from}`, to, "WITHSCORES", "LIMIT", 0, 20_000);
  const drop: string[] = [];
  for (let i = 0; i + 2 < flat.length; i += 2) {
    // Sorted by time: an entry is dropped when the next one is in the same minute.
    const minute = Math.floor(Number(flat[i + 1]) / 60_000);
    if (Math.floor(Number(flat[i + 3]) / 60_000) === minute) drop.push(flat[i] as string);
  }
  if (drop.length > 0) await redis.zrem(keys.queueClock, ...drop);
  const last = flat.length > 0 ? Number(flat[flat.length - 1]) : to;
  return Math.min(last, to) - 60_000;
}
