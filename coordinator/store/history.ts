// A compact, bounded history of the farm for the dashboard's charts, kept in Redis and shared by every
// coordinator: once a minute ONE coordinator (whichever wins `SET NX` on the minute's lock) samples the farm
// (the sampler: coordinator/web/history.ts) and appends one entry; the others skip that minute.
//
//   {p}history:farm           ZSET  score = minute start (ms); member = "t,busy,total,cB,cI,cU,cD,cN,waiting,
//                                   running" (slots busy/total, clients busy/idle/unavailable/disabled/not
//                                   responding, jobs waiting/running); older than 24 h trimmed at each write
//   {p}history:shares         ZSET  score = minute start (ms); member = JSON [t, [[share, running slots,
//                                   guarantee, burst slots or null], …]]: the configured shares (at most
//                                   MAX_CHARTED_SHARES, the busiest) in the same minute as history:farm;
//                                   none written while no share is configured; trimmed as history:farm
//   {p}history:lock:{minute}  STRING SET NX PX 2 min: the one coordinator that samples that minute
//   {p}client:{id}:load       LIST  "t,load,jobs" newest first, capped at CLIENT_SAMPLES (12 h); expires
//                                   12 h after its last sample (a removed client)
//
// Cost per minute: one getClients (already bounded by the farm size), the share counters (five small hashes),
// two ZADDs, one LPUSH+LTRIM per client.

import type { Context } from "../context.js";
import type { Utilisation } from "./farm-stats.js";

export const HISTORY_MS = 24 * 3600_000;
const MINUTE = 60_000;
const CLIENT_SAMPLES = 720;
/** Clients per pipeline of appendSamples. */
const CLIENT_CHUNK = 500;

export interface FarmSample extends Utilisation {
  /** minute start, ms since epoch */
  t: number;
}

/** One share in one minute: its running CPU slots, guarantee and burst maximum (slots; null for none). */
export interface ShareSample {
  name: string;
  running: number;
  guarantee: number;
  burst: number | null;
}

export interface ShareHistorySample {
  t: number;
  shares: ShareSample[];
}

/** Most shares a minute keeps (the busiest): a farm of 1,000 shares keeps 24 h of a bounded size. */
export const MAX_CHARTED_SHARES = 24;

export interface ClientSample {
  t: number;
  load: number;
  jobs: number;
}

export function encodeSample(s: FarmSample): string {
  const c = s.clients;
  return [
    s.t,
    s.slotsBusy,
    s.slotsTotal,
    c.busy,
    c.idle,
    c.unavailable,
    c.disabled,
    c.not_responding,
    s.waiting,
    s.running,
    c.quarantined,
  ].join(",");
}

function decodeSample(text: string): FarmSample | null {
  const n = text.split(",").map(Number);
  // Samples from before the quarantined state have 10 fields.
  if ((n.length !== 10 && n.length !== 11) || n.some((x) => !Number.isFinite(x))) return null;
  // Fields by their place in encodeSample's order; a 10-field sample's quarantined count is 0.
  const at = (i: number): number => n[i] ?? 0;
  return {
    t: at(0),
    slotsBusy: at(1),
    slotsTotal: at(2),
    clients: {
      busy: at(3),
      idle: at(4),
      unavailable: at(5),
      disabled: at(6),
      not_responding: at(7),
      quarantined: at(10),
    },
    waiting: at(8),
    running: at(9),
  };
}

/** Claims `minute` (its start, ms) for this coordinator; false when another coordinator already took it. */
export async function claimMinute(ctx: Context, minute: number): Promise<boolean> {
  return (await ctx.redis.set(ctx.keys.historyLock(minute), "1", "PX", 2 * MINUTE, "NX")) === "OK";
}

function encodeShares(t: number, shares: readonly ShareSample[]): string {
  return JSON.stringify([t, shares.map((s) => [s.name, s.running, s.guarantee, s.burst])]);
}

function decodeShares(text: string): ShareHistorySample | null {
  try {
    const [t, rows] = JSON.parse(text) as [unknown, unknown];
    if (typeof t !== "number" || !Array.isArray(rows)) return null;
    const shares: ShareSample[] = [];
    for (const row of rows as unknown[]) {
      if (!Array.isArray(row)) continue;
      const [name, running, guarantee, burst] = row as unknown[];
      if (typeof name !== "string" || typeof running !== "number" || typeof guarantee !== "number") continue;
      shares.push({ name, running, guarantee, burst: typeof burst === "number" ? burst : null });
    }
    return { t, shares };
  } catch {
    return null;
  }
}

/**
 * Appends one minute's farm sample and share sample (none when `shares` is empty), trimming samples older
 * than HISTORY_MS, and the clients' load samples.
 */
export async function appendSamples(
  ctx: Context,
  minute: number,
  farm: Utilisation,
  clients: readonly { id: number; load: number; jobs: number }[],
  shares: readonly ShareSample[] = [],
): Promise<void> {
  const key = ctx.keys.historyFarm;
  const pipeline = ctx.redis.pipeline();
  pipeline.zadd(key, minute, encodeSample({ t: minute, ...farm }));
  pipeline.zremrangebyscore(key, "-inf", `(${minute - HISTORY_MS}`);
  if (shares.length > 0) pipeline.zadd(ctx.keys.historyShares, minute, encodeShares(minute, shares));
  pipeline.zremrangebyscore(ctx.keys.historyShares, "-inf", `(${minute - HISTORY_MS}`);
  await pipeline.exec();
  // The clients' samples in pipelines of CLIENT_CHUNK clients: 30,000 commands of 10,000 blades made in one go
  // held the event loop ~0.2 s.
  for (let from = 0; from < clients.length; from += CLIENT_CHUNK) {
    const chunk = ctx.redis.pipeline();
    for (const c of clients.slice(from, from + CLIENT_CHUNK)) {
      chunk.lpush(ctx.keys.clientLoad(c.id), `${minute},${c.load.toFixed(2)},${c.jobs}`);
      chunk.ltrim(ctx.keys.clientLoad(c.id), 0, CLIENT_SAMPLES - 1);
      // A removed client's samples go by themselves.
      chunk.pexpire(ctx.keys.clientLoad(c.id), CLIENT_SAMPLES * MINUTE);
    }
    await chunk.exec();
  }
}

/** Samples since `since` (ms), oldest first. */
export async function farmHistory(ctx: Context, since: number): Promise<FarmSample[]> {
  const members = await ctx.redis.zrangebyscore(ctx.keys.historyFarm, since, "+inf");
  return members.map(decodeSample).filter((s): s is FarmSample => s !== null);
}

/** Share samples since `since` (ms), oldest first. */
export async function shareHistory(ctx: Context, since: number): Promise<ShareHistorySample[]> {
  const members = await ctx.redis.zrangebyscore(ctx.keys.historyShares, since, "+inf");
  return members.map(decodeShares).filter((s): s is ShareHistorySample => s !== null);
}

/** The newest farm sample (null: none yet). */
export async function newestFarmSample(ctx: Context): Promise<FarmSample | null> {
  const [member] = await ctx.redis.zrange(ctx.keys.historyFarm, "-1", "-1");
  return member === undefined ? null : decodeSample(member);
}

/** Time of the oldest farm sample kept (null: none yet): where a chart fitted to the history starts. */
export async function oldestFarmSample(ctx: Context): Promise<number | null> {
  const [, score] = await ctx.redis.zrange(ctx.keys.historyFarm, "0", "0", "WITHSCORES");
  return score === undefined ? null : Number(score);
}

/** A client's samples, oldest first. */
export async function clientHistory(ctx: Context, id: number): Promise<ClientSample[]> {
  const items = await ctx.redis.lrange(ctx.keys.clientLoad(id), 0, CLIENT_SAMPLES - 1);
  return items
    .map((text) => {
      const [t, load, jobs] = text.split(",").map(Number);
      return { t: t ?? NaN, load: load ?? NaN, jobs: jobs ?? NaN };
    })
    .filter((s) => Number.isFinite(s.t) && Number.isFinite(s.load) && Number.isFinite(s.jobs))
    .reverse();
}
