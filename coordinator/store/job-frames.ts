// Reads behind the dashboard's frame table (coordinator/web/frames.ts): a parent's child list, then a few
// fields of each child, batched so a 10,000-frame parent costs one HGET and ten script calls (no per-child
// round trip, no HGETALL of 50-entry logs); exit codes and roll-ups only for the rows on the page; host
// labels from the client hashes.

import { lastExit } from "../../shared/job-log.js";
import type { Context } from "../context.js";
import { readJobFields } from "./job-fields.js";
import { runScript } from "./lua-scripts.js";
import type { RunTimes } from "./run-time.js";

/** start/end/pausedMs/pausedAt (RunTimes): its current or last run. */
export interface Frame extends RunTimes {
  id: number;
  name: string;
  status: string;
  /** client ids of the current/last run */
  clientIds: number[];
  progress: number;
  attempt: number;
  /** why its latest failed attempt failed ("" when none did, or it succeeded since) */
  lastError: string;
}

/** The child ids of a job, in creation order ([] for a leaf or a job that does not exist). */
export async function childIds(ctx: Context, parentId: number): Promise<number[]> {
  const text = await ctx.redis.hget(ctx.keys.job(parentId), "children");
  return text ? (JSON.parse(text) as number[]) : [];
}

/**
 * One readFrames.lua call per READ_CHUNK children: an HMGET per job inside Redis (about 2 ms of Redis per
 * 1,000), one string per job. Ten thousand HMGETs through a client pipeline cost 10x more in reply decoding on
 * a loaded machine (measured 120-310 ms vs 25-30 ms).
 */
const READ_CHUNK = 1000;

/** The frame fields of each job, in order, skipping jobs deleted meanwhile. */
export async function readFrames(ctx: Context, ids: number[]): Promise<Frame[]> {
  const chunks: Promise<string[]>[] = [];
  for (let start = 0; start < ids.length; start += READ_CHUNK) {
    const chunk = ids.slice(start, start + READ_CHUNK);
    chunks.push(runScript(ctx.redis, ctx.keys.prefix, "readFrames", chunk) as Promise<string[]>);
  }
  const frames: Frame[] = [];
  for (const rows of await Promise.all(chunks)) {
    for (const row of rows) {
      const [id, status, clients, progress, start, end, attempt, pausedMs, pausedAt, lastError, ...name] =
        row.split("\x1f");
      let clientIds: number[] = [];
      if (clients) {
        clientIds = (JSON.parse(clients) as { clientId?: number }[])
          .map((c) => Number(c.clientId))
          .filter(Number.isFinite);
      }
      frames.push({
        id: Number(id),
        name: name.join("\x1f"),
        status: status ?? "",
        clientIds,
        progress: status === "succeeded" ? 1 : Number(progress || 0),
        start: start ? Number(start) : NaN,
        end: end ? Number(end) : NaN,
        pausedMs: Number(pausedMs || 0),
        pausedAt: pausedAt ? Number(pausedAt) : NaN,
        attempt: Number(attempt || 0),
        lastError: lastError ?? "",
      });
    }
  }
  return frames;
}

/** The frame table's columns readFrameOrder.lua sorts inside Redis. */
export const NUMERIC_FRAME_SORTS = ["progress", "start", "duration", "attempts"];

/** A job and its value on a numeric column of the frame table (NaN: none). */
interface Timed {
  id: number;
  value: number;
}

/** Each existing job of `ids` with its value on a numeric column (NaN: none), READ_CHUNK jobs a call. */
async function frameValues(ctx: Context, ids: number[], column: string, at: number): Promise<Timed[]> {
  const chunks: Promise<[string, string]>[] = [];
  for (let start = 0; start < ids.length; start += READ_CHUNK) {
    const args = [at, column, ...ids.slice(start, start + READ_CHUNK)];
    chunks.push(runScript(ctx.redis, ctx.keys.prefix, "readFrameOrder", args) as Promise<[string, string]>);
  }
  const out: Timed[] = [];
  for (const [idText, valueText] of await Promise.all(chunks)) {
    if (idText === "") continue;
    const values = valueText.split(",");
    idText.split(",").forEach((id, i) => {
      const v = values[i] ?? "";
      out.push({ id: Number(id), value: v === "" ? NaN : Number(v) });
    });
  }
  return out;
}

/** Orders values as selectFrames orders rows: jobs without a value last, by id on ties, in either direction. */
function sortTimed(rows: Timed[], desc: boolean): Timed[] {
  const sign = desc ? -1 : 1;
  return rows.sort((a, b) => {
    const aNaN = Number.isNaN(a.value);
    if (aNaN !== Number.isNaN(b.value)) return aNaN ? 1 : -1;
    const c = aNaN ? 0 : a.value - b.value;
    return c !== 0 ? c * sign : a.id - b.id;
  });
}

/**
 * The first `k` of `ids` ordered on a numeric column (NUMERIC_FRAME_SORTS; by id on ties, jobs without a
 * value last, as selectFrames orders rows), and how many of them exist: each job's one value read by
 * readFrameOrder.lua, READ_CHUNK jobs a call, and sorted here, so no row is built for a job off the page.
 */
export async function frameOrder(
  ctx: Context,
  ids: number[],
  column: string,
  desc: boolean,
  k: number,
  at: number,
): Promise<{ found: number; ids: number[] }> {
  const rows = sortTimed(await frameValues(ctx, ids, column, at), desc);
  return { found: rows.length, ids: rows.slice(0, k).map((r) => r.id) };
}

/**
 * Children [offset, offset + count) of a parent sorted by duration, every status shown, from its duration
 * index (lua/includes/kidsIndex.lua) instead of every child: the finished children that ran come with their
 * seconds from kids:took, only the head up to this page (and its ties), and the unfinished children that ran
 * (kids:started: those running, and those rescheduled after a run) are valued now by readFrameOrder.lua. The
 * children that never ran have no duration and come last, by id: when none has run, that is the index's
 * own order. Null when the page reaches them while some children have run: the caller reads every child.
 */
export async function durationPage(
  ctx: Context,
  parentId: number,
  desc: boolean,
  offset: number,
  count: number,
  at: number,
): Promise<number[] | null> {
  if (count <= 0) return [];
  const took = ctx.keys.jobKidsTook(parentId);
  const k = offset + count;
  const pipeline = ctx.redis.pipeline().zcard(took).zrange(ctx.keys.jobKidsStarted(parentId), "0", "-1");
  if (desc) pipeline.zrange(took, "0", String(k - 1), "REV", "WITHSCORES");
  else pipeline.zrange(took, "0", String(k - 1), "WITHSCORES");
  const replies = (await pipeline.exec()) ?? [];
  for (const [err] of replies) if (err) throw err;
  const [tookCount, startedIds, head] = replies.map(([, reply]) => reply) as [number, string[], string[]];
  const timed = tookCount + startedIds.length;
  if (timed === 0) {
    const page = await readKidsPage(ctx, parentId, {
      statuses: [],
      failure: "",
      desc: false,
      offset,
      count,
      groups: 0,
    });
    return page.ids;
  }
  if (k > timed) return null;
  const rows: Timed[] = [];
  for (let i = 0; i < head.length; i += 2) rows.push({ id: Number(head[i]), value: Number(head[i + 1]) });
  // Children tied with the last of the head may come before it by id: all of them take part.
  const last = head[head.length - 1];
  if (head.length === 2 * k && last !== undefined) {
    const ties = await ctx.redis.zrangebyscore(took, last, last);
    const have = new Set(rows.map((r) => r.id));
    for (const id of ties.map(Number)) if (!have.has(id)) rows.push({ id, value: Number(last) });
  }
  rows.push(...(await frameValues(ctx, startedIds.map(Number), "duration", at)));
  return sortTimed(rows, desc)
    .slice(offset, k)
    .map((r) => r.id);
}

/** Entries of a parent's kids:took per ZRANGE in childSeconds (a few ms of Redis each). */
const TOOK_SLICE = 10_000;

/**
 * The run seconds of each of `ids` (a parent's children, in that order) as frameSeconds (web/frames.ts) has
 * them, NaN for a child that never ran, from the parent's duration index (lua/includes/kidsIndex.lua)
 * instead of every child's fields: the finished children's fixed seconds from kids:took in TOOK_SLICE slices,
 * the unfinished ones that ran (kids:started: those running, and those rescheduled after a run) valued at
 * `at` by readFrameOrder.lua. kids:started is read first, in the same pipeline: a child finishing meanwhile is
 * then in both, and kids:took's value wins.
 */
export async function childSeconds(
  ctx: Context,
  parentId: number,
  ids: number[],
  at: number,
): Promise<number[]> {
  const took = ctx.keys.jobKidsTook(parentId);
  const pipeline = ctx.redis.pipeline().zrange(ctx.keys.jobKidsStarted(parentId), "0", "-1");
  // kids:took holds at most every child.
  for (let start = 0; start < ids.length; start += TOOK_SLICE)
    pipeline.zrange(took, String(start), String(start + TOOK_SLICE - 1), "WITHSCORES");
  const replies = (await pipeline.exec()) ?? [];
  for (const [err] of replies) if (err) throw err;
  const [started, ...slices] = replies.map(([, reply]) => reply as string[]);
  const seconds = new Map<number, number>();
  for (const { id, value } of await frameValues(ctx, (started ?? []).map(Number), "duration", at))
    seconds.set(id, value);
  for (const slice of slices)
    for (let i = 0; i < slice.length; i += 2) seconds.set(Number(slice[i]), Number(slice[i + 1]));
  return ids.map((id) => seconds.get(id) ?? NaN);
}

/** Client id -> label (`hostname` or `hostname:name`), one pipelined HGET per distinct client. */
export async function hostLabels(ctx: Context, clientIds: Iterable<number>): Promise<Map<number, string>> {
  const ids = [...new Set(clientIds)];
  const labels = new Map<number, string>();
  if (ids.length === 0) return labels;
  const pipeline = ctx.redis.pipeline();
  for (const id of ids) pipeline.hget(ctx.keys.client(id), "label");
  const replies = (await pipeline.exec()) ?? [];
  replies.forEach(([err, label], i) => {
    labels.set(ids[i] as number, !err && typeof label === "string" ? label : `client ${ids[i]}`);
  });
  return labels;
}

export interface KidsPageQuery {
  /** children in these statuses ([]: every child) */
  statuses: string[];
  /** or: the failed children of this normalized failure message ("" for none) */
  failure: string;
  /** ordered by id, descending with desc */
  desc: boolean;
  offset: number;
  count: number;
  /** failure groups to return, largest first */
  groups: number;
}

export interface KidsPage {
  /** children per status (statuses without children left out) */
  counts: Map<string, number>;
  /** the largest failure groups: normalized message, count, one child's raw lastError */
  failures: { message: string; count: number; example: string }[];
  /** failure groups in all */
  failureGroups: number;
  /** children matching the query in all */
  total: number;
  /** the page's child ids */
  ids: number[];
}

/**
 * A page of a parent's children from its index of children (lua/includes/kidsIndex.lua), with the counts by
 * status and the largest failure groups: one readKidsPage.lua call whose cost is the page's, not the parent's.
 */
export async function readKidsPage(ctx: Context, parentId: number, q: KidsPageQuery): Promise<KidsPage> {
  const [counts, groups, failureGroups, total, ids] = (await runScript(
    ctx.redis,
    ctx.keys.prefix,
    "readKidsPage",
    [parentId, q.offset, q.count, q.desc ? 1 : 0, q.groups, q.failure, ...q.statuses],
  )) as [string[], string[], number, number, string[]];
  const byStatus = new Map<string, number>();
  for (let i = 0; i < counts.length; i += 2) byStatus.set(counts[i] as string, Number(counts[i + 1]));
  const failures: KidsPage["failures"] = [];
  for (let i = 0; i < groups.length; i += 3)
    failures.push({
      message: groups[i] as string,
      count: Number(groups[i + 1]),
      example: groups[i + 2] as string,
    });
  return { counts: byStatus, failures, failureGroups, total, ids: ids.map(Number) };
}

/** The ids of a parent's children in any of `statuses`, by id, from its index of children. */
export async function kidsInStatuses(ctx: Context, parentId: number, statuses: string[]): Promise<number[]> {
  const pipeline = ctx.redis.pipeline();
  for (const s of statuses) pipeline.zrange(ctx.keys.jobKids(parentId, s), "0", "-1");
  const ids: number[] = [];
  for (const [err, reply] of (await pipeline.exec()) ?? []) {
    if (err) throw err;
    for (const id of reply as string[]) ids.push(Number(id));
  }
  return ids.sort((a, b) => a - b);
}

/** The exit code (or signal) of each job's latest finished run, from its status log; "" when none. */
export async function exitCodes(ctx: Context, ids: number[]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  const logs = await readJobFields(ctx, ids, ["logs"]);
  logs.forEach((reply, i) => {
    const text = reply?.[0];
    out.set(ids[i] as number, typeof text === "string" ? lastExit(JSON.parse(text) as unknown[][]) : "");
  });
  return out;
}

export interface FamilyCounts {
  total: number;
  done: number;
  bad: number;
  running: number;
}

/** done/failed/running children of each job, from the roll-ups every transition maintains (one HMGET each). */
export async function familyCounts(ctx: Context, ids: number[]): Promise<Map<number, FamilyCounts>> {
  const out = new Map<number, FamilyCounts>();
  if (ids.length === 0) return out;
  const pipeline = ctx.redis.pipeline();
  for (const id of ids) pipeline.hmget(ctx.keys.job(id), "nKids", "kidsLeft", "kidsBad", "treeRun");
  const replies = (await pipeline.exec()) ?? [];
  replies.forEach(([err, value], i) => {
    if (err) return;
    const [n, left, bad, run] = (value as (string | null)[]).map((v) => Number(v ?? 0));
    if (!n) return;
    out.set(ids[i] as number, {
      total: n,
      done: Math.max(0, n - (left ?? 0) - (bad ?? 0)),
      bad: bad ?? 0,
      running: run ?? 0,
    });
  });
  return out;
}
