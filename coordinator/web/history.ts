// A compact, bounded history of the farm for the dashboard's charts, kept in Redis and shared by every
// coordinator: once a minute ONE coordinator (whichever wins `SET NX` on the minute's lock) samples the farm
// (./utilisation.ts) and appends one entry; the others skip that minute.
//
//   {p}history:farm           ZSET  score = minute start (ms); member = "t,busy,total,cB,cI,cU,cD,cN,waiting,
//                                   running" (slots busy/total, clients busy/idle/unavailable/disabled/not
//                                   responding, jobs waiting/running); older than 24 h trimmed at each write
//   {p}history:lock:{minute}  STRING SET NX PX 2 min: the one coordinator that samples that minute
//   {p}client:{id}:load       LIST  "t,load,jobs" newest first, capped at CLIENT_SAMPLES (12 h); expires
//                                   12 h after its last sample (a removed client)
//
// Cost per minute: one getClients (already bounded by the farm size), one ZADD, one LPUSH+LTRIM per client.

import type { Context } from "../context.js";
import { readUtilisation, type Utilisation } from "./utilisation.js";

export const HISTORY_MS = 24 * 3600_000;
const MINUTE = 60_000;
const CLIENT_SAMPLES = 720;
/** How often each coordinator checks whether this minute's sample is taken. */
const CHECK_MS = 10_000;

export interface FarmSample extends Utilisation {
  /** minute start, ms since epoch */
  t: number;
}

export interface ClientSample {
  t: number;
  load: number;
  jobs: number;
}

function farmKey(ctx: Context): string {
  return `${ctx.keys.prefix}history:farm`;
}
export function clientLoadKey(ctx: Context, id: number): string {
  return `${ctx.keys.prefix}client:${id}:load`;
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
  ].join(",");
}

function decodeSample(text: string): FarmSample | null {
  const n = text.split(",").map(Number);
  if (n.length !== 10 || n.some((x) => !Number.isFinite(x))) return null;
  const [t, busy, total, cb, ci, cu, cd, cn, waiting, running] = n as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return {
    t,
    slotsBusy: busy,
    slotsTotal: total,
    clients: { busy: cb, idle: ci, unavailable: cu, disabled: cd, not_responding: cn },
    waiting,
    running,
  };
}

/** Takes this minute's sample unless another coordinator already did. Returns whether it wrote. */
export async function sampleFarm(ctx: Context, now = Date.now()): Promise<boolean> {
  const minute = now - (now % MINUTE);
  const lock = `${ctx.keys.prefix}history:lock:${minute}`;
  if ((await ctx.redis.set(lock, "1", "PX", 2 * MINUTE, "NX")) !== "OK") return false;
  const { now: farm, rows } = await readUtilisation(ctx);
  const key = farmKey(ctx);
  const pipeline = ctx.redis.pipeline();
  pipeline.zadd(key, minute, encodeSample({ t: minute, ...farm }));
  pipeline.zremrangebyscore(key, "-inf", `(${minute - HISTORY_MS}`);
  for (const c of rows) {
    if (typeof c.id !== "number" || c.responding === false) continue;
    const load = typeof (c as { load?: unknown }).load === "number" ? (c as { load: number }).load : 0;
    pipeline.lpush(clientLoadKey(ctx, c.id), `${minute},${load.toFixed(2)},${c.runningJobs?.length ?? 0}`);
    pipeline.ltrim(clientLoadKey(ctx, c.id), 0, CLIENT_SAMPLES - 1);
    // A removed client's samples go by themselves.
    pipeline.pexpire(clientLoadKey(ctx, c.id), CLIENT_SAMPLES * MINUTE);
  }
  await pipeline.exec();
  return true;
}

/** Samples since `since` (ms), oldest first. */
export async function farmHistory(ctx: Context, since: number): Promise<FarmSample[]> {
  const members = await ctx.redis.zrangebyscore(farmKey(ctx), since, "+inf");
  return members.map(decodeSample).filter((s): s is FarmSample => s !== null);
}

/** A client's samples, oldest first. */
export async function clientHistory(ctx: Context, id: number): Promise<ClientSample[]> {
  const items = await ctx.redis.lrange(clientLoadKey(ctx, id), 0, CLIENT_SAMPLES - 1);
  return items
    .map((text) => {
      const [t, load, jobs] = text.split(",").map(Number);
      return { t: t ?? NaN, load: load ?? NaN, jobs: jobs ?? NaN };
    })
    .filter((s) => Number.isFinite(s.t) && Number.isFinite(s.load) && Number.isFinite(s.jobs))
    .reverse();
}

const running = new WeakSet<Context>();

/** Starts the once-a-minute sampler of this process (unref'd: it never keeps the process alive). */
export function startHistory(ctx: Context): void {
  if (running.has(ctx)) return;
  running.add(ctx);
  const tick = (): void => {
    sampleFarm(ctx).catch((err: unknown) => {
      // Redis down: the chart shows a gap for the minute, nothing else to do.
      void ctx.recordError({ message: `farm history: ${(err as Error).message}`, time: Date.now() });
    });
  };
  tick();
  setInterval(tick, CHECK_MS).unref();
}
