// The dashboard's jobs list (web/jobs.ts): one page of a scope's job ids, read from the index sets, so a
// page costs the same at 1,000,000 jobs as at 100.
//
// A scope lists index sets one after the other (keys.ts): "unfinished" the unfinished roots (newest id
// first), "finished" the expiry set (latest end first), "all" both in that order, a status its
// {p}jobs:status:{s} set (children included, newest first; runnable in queue order, next to run first),
// "waiting" its statuses' sets. Unfiltered, a page is ZCARDs and one ZRANGE by rank per set it spans.
// With a name or submitter filter, or a sort by another column, there is no index to answer it: the list
// is then a BOUNDED scan (as job-search.ts): the scope's first SCAN_LIMIT jobs in the order above, filtered
// in Redis by scanJobs.lua a chunk at a time, all chunks sent at once (only matches come back, with the sort
// column), then sorted here. `complete` says whether the scan reached the scope's end; the page says so when it did not.

import type { Redis } from "ioredis";
import { WAITING_STATUSES, isJobStatus, type JobStatus } from "../../shared/statuses.js";
import type { Keys } from "./keys.js";
import { runScript } from "./lua-scripts.js";

/** Jobs a filtered or sorted list looks at, at most: ~20 scanJobs calls, ~100 ms on a busy box. */
export const SCAN_LIMIT = 20_000;
/** Ids per scanJobs.lua call (a few ms of Redis). */
const CHUNK = 1000;
/** Ids per ZRANGE of a plain page (a few ms of Redis). */
const RANGE_SLICE = 10_000;

export const LIST_SCOPES = ["unfinished", "finished", "all", "waiting"] as const;
/** Columns a list sorts by besides its own order ("id"), each a job hash field. */
export const LIST_SORTS = ["id", "name", "status", "priority", "submittedBy"] as const;
export type ListSort = (typeof LIST_SORTS)[number];

export interface ListQuery {
  /** a LIST_SCOPES entry or a job status */
  scope: string;
  /** case-insensitive "contains"; "" = any */
  name: string;
  submitter: string;
  sort: ListSort;
  /** "id": oldest first instead of the scope's own order; another sort: Z-A / high-low */
  desc: boolean;
  offset: number;
  count: number;
  /** jobs a filter or sort looks at, at most (default SCAN_LIMIT) */
  scanLimit?: number;
}

export interface ListPage {
  ids: number[];
  /** jobs that match (with a filter or sort: among the `scanned` looked at) */
  total: number;
  /** false: a filter or sort stopped after SCAN_LIMIT jobs of the scope; older ones were not looked at */
  complete: boolean;
}

interface Source {
  key: string;
  /** true: lowest score first (the queue's dispatch order) */
  ascending: boolean;
}

function sourceOf(keys: Keys, status: JobStatus): Source {
  return { key: keys.jobsByStatus(status), ascending: status === "runnable" };
}

function sources(keys: Keys, scope: string): Source[] {
  const unfinished = { key: keys.unfinishedRoots, ascending: false };
  const finished = { key: keys.expiry, ascending: false };
  if (scope === "unfinished") return [unfinished];
  if (scope === "finished") return [finished];
  if (scope === "all") return [unfinished, finished];
  if (scope === "waiting") return WAITING_STATUSES.map((s) => sourceOf(keys, s));
  return isJobStatus(scope) ? [sourceOf(keys, scope)] : [];
}

/** The list read backwards when `desc` is given for the id order: oldest first. */
function ordered(list: Source[], reversed: boolean): Source[] {
  return reversed ? [...list].reverse().map((s) => ({ key: s.key, ascending: !s.ascending })) : list;
}

/** Ids at ranks [start, stop] of one set, in the source's direction. */
async function range(redis: Redis, s: Source, start: number, stop: number): Promise<number[]> {
  const ids = s.ascending
    ? await redis.zrange(s.key, String(start), String(stop))
    : await redis.zrange(s.key, String(start), String(stop), "REV");
  return ids.map(Number);
}

async function sizes(redis: Redis, list: Source[]): Promise<number[]> {
  return Promise.all(list.map((s) => redis.zcard(s.key)));
}

/** A page of the sets one after the other: one ZRANGE per set the page spans. */
async function plainPage(redis: Redis, list: Source[], offset: number, count: number): Promise<ListPage> {
  const counts = await sizes(redis, list);
  const ids: number[] = [];
  let skip = offset;
  for (const [i, s] of list.entries()) {
    const size = counts[i] as number;
    if (skip >= size) {
      skip -= size;
      continue;
    }
    // In slices: "select all matching" asks for up to 100,000 ids, and one ZRANGE of them would hold Redis.
    for (let from = skip; from < size && ids.length < count; from += RANGE_SLICE) {
      const want = Math.min(RANGE_SLICE, count - ids.length);
      const got = await range(redis, s, from, from + want - 1);
      ids.push(...got);
      if (got.length < want) break;
    }
    skip = 0;
    if (ids.length >= count) break;
  }
  // A job in two sets at once (a status move between the reads) is listed once.
  return { ids: [...new Set(ids)], total: counts.reduce((a, b) => a + b, 0), complete: true };
}

interface Match {
  id: number;
  key: string | number;
}

function compareMatches(desc: boolean): (a: Match, b: Match) => number {
  const sign = desc ? -1 : 1;
  return (a, b) => {
    const c =
      typeof a.key === "number" && typeof b.key === "number"
        ? a.key - b.key
        : a.key < b.key
          ? -1
          : a.key > b.key
            ? 1
            : 0;
    return c !== 0 ? c * sign : b.id - a.id;
  };
}

/**
 * The ids the bounded scan looks at: the first `limit` of the sets one after the other, in RANGE_SLICE
 * ZRANGEs. `complete` is false when the scope holds more.
 */
async function scanWindow(
  redis: Redis,
  list: Source[],
  limit: number,
): Promise<{ ids: number[]; complete: boolean }> {
  const ids: number[] = [];
  for (const s of list) {
    for (let start = 0; ; start += RANGE_SLICE) {
      if (ids.length >= limit) {
        if ((await redis.zcard(s.key)) > start) return { ids, complete: false };
        break;
      }
      const want = Math.min(RANGE_SLICE, limit - ids.length);
      const got = await range(redis, s, start, start + want - 1);
      ids.push(...got);
      if (got.length < want) break;
    }
  }
  return { ids, complete: true };
}

/** The bounded scan: the first scanLimit jobs of the scope, filtered in Redis, sorted here. */
async function scannedPage(redis: Redis, keys: Keys, list: Source[], q: ListQuery): Promise<ListPage> {
  const sortField = q.sort === "id" ? "" : q.sort;
  const { ids, complete } = await scanWindow(redis, list, q.scanLimit ?? SCAN_LIMIT);
  // The chunks go out together: Redis runs them one after the other, without a round trip between.
  const chunks: Promise<unknown>[] = [];
  for (let start = 0; start < ids.length; start += CHUNK)
    chunks.push(
      runScript(redis, keys.prefix, "scanJobs", [
        q.name.toLowerCase(),
        q.submitter.toLowerCase(),
        sortField,
        ...ids.slice(start, start + CHUNK),
      ]),
    );
  const matches: Match[] = [];
  const seen = new Set<number>();
  for (const reply of await Promise.all(chunks)) {
    const flat = reply as (number | string | null)[];
    for (let i = 0; i < flat.length; i += 2) {
      const id = Number(flat[i]);
      if (seen.has(id)) continue;
      seen.add(id);
      const raw = flat[i + 1] ?? null;
      matches.push({
        id,
        key: sortField === "priority" ? Number(raw ?? 0) : String(raw ?? "").toLowerCase(),
      });
    }
  }
  if (sortField !== "") matches.sort(compareMatches(q.desc));
  return {
    ids: matches.slice(q.offset, q.offset + q.count).map((m) => m.id),
    total: matches.length,
    complete,
  };
}

/** One page of the jobs list. An unknown scope lists nothing. */
export async function listJobs(redis: Redis, keys: Keys, q: ListQuery): Promise<ListPage> {
  const list = ordered(sources(keys, q.scope), q.sort === "id" && q.desc);
  if (q.name === "" && q.submitter === "" && q.sort === "id")
    return plainPage(redis, list, q.offset, q.count);
  return scannedPage(redis, keys, list, q);
}
