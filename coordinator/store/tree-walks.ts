// The job sets of deleteJobs and rescheduleJobs, worked out in TypeScript from pipelined reads (READ_BATCH
// jobs a round trip) when they may be too large for one script call: the job store then runs the script over
// the set in chunks (store/jobs.ts bulk()). Each walk gives the same set as the script's own walk
// (lua/deleteJobs.lua, lua/rescheduleJobs.lua), parents first, and refuses what the script would refuse
// (unknown or unfinished jobs) before anything changes.

import type { Redis } from "ioredis";
import { Conflict, NotFound } from "../refusal.js";
import { isFinished } from "../../shared/statuses.js";
import type { Keys } from "./keys.js";

const READ_BATCH = 5000;
/** Jobs a walk handles between yields to the event loop: a few ms, so the coordinator keeps answering. */
const YIELD_EVERY = 5000;

interface Walk {
  redis: Redis;
  keys: Keys;
}

type Fields = (string | null)[];

/** The fields of each job (null values for a job that does not exist), READ_BATCH jobs a round trip. */
async function readFields(w: Walk, ids: readonly number[], fields: string[]): Promise<Fields[]> {
  const out: Fields[] = [];
  for (let start = 0; start < ids.length; start += READ_BATCH) {
    const pipe = w.redis.pipeline();
    for (const id of ids.slice(start, start + READ_BATCH)) pipe.hmget(w.keys.job(id), ...fields);
    for (const [err, value] of (await pipe.exec()) ?? []) {
      if (err) throw err;
      out.push(value as Fields);
    }
  }
  return out;
}

/**
 * fn over each item, letting the event loop run every YIELD_EVERY items: a synchronous pass over a show's
 * 150,000 jobs (JSON parsing each one's parents) would hold the coordinator for tens of ms.
 */
export async function eachYielding<T>(
  items: readonly T[],
  fn: (item: T, index: number) => void,
): Promise<void> {
  for (let start = 0; start < items.length; start += YIELD_EVERY) {
    if (start > 0) await new Promise((resolve) => setImmediate(resolve));
    const end = Math.min(items.length, start + YIELD_EVERY);
    for (let i = start; i < end; i++) fn(items[i] as T, i);
  }
}

const idList = (value: string | null | undefined): number[] => (value ? (JSON.parse(value) as number[]) : []);

function notFound(id: number): NotFound {
  return new NotFound(`job ${id} does not exist`);
}

/**
 * deleteJobs' doomed set: the given jobs (each must exist and be finished), then each descendant that is
 * finished and whose every parent is doomed. A child is looked at again with each of its parents, and
 * listed only once all of them are: the list is parents first. `kept`: children of doomed jobs that stay.
 */
export async function doomedJobs(
  w: Walk,
  given: readonly number[],
): Promise<{ order: number[]; kept: number[] }> {
  const statuses = await readFields(w, given, ["status"]);
  given.forEach((id, k) => {
    const status = statuses[k]?.[0];
    if (status === null || status === undefined) throw notFound(id);
    if (!isFinished(status)) throw new Conflict(`job ${id} is ${status}; only finished jobs can be deleted`);
  });
  const doomed = new Set(given);
  const order = [...given];
  const seen = new Set<number>();
  // The list grows as it is walked: each round takes what is there, up to READ_BATCH.
  for (let start = 0; start < order.length;) {
    const batch = order.slice(start, start + READ_BATCH);
    const children = (await readFields(w, batch, ["children"])).flatMap((f) => idList(f[0]));
    const unique = new Set<number>();
    await eachYielding(children, (c) => {
      if (!doomed.has(c)) unique.add(c);
    });
    const candidates = [...unique];
    for (const c of candidates) seen.add(c);
    const info = await readFields(w, candidates, ["status", "parents"]);
    await eachYielding(candidates, (c, k) => {
      const [status, parents] = info[k] as Fields;
      if (!isFinished(status ?? undefined)) return;
      if (idList(parents).every((p) => doomed.has(p))) {
        doomed.add(c);
        order.push(c);
      }
    });
    start += batch.length;
  }
  return { order, kept: [...seen].filter((c) => !doomed.has(c)) };
}

/**
 * rescheduleJobs' set, parents first: each given finished job, its descendants that are finished but did not
 * succeed, and every finished ancestor of those. Unknown given jobs are refused; unfinished ones are left out.
 */
export async function reopenedJobs(w: Walk, given: readonly number[]): Promise<number[]> {
  const statuses = await readFields(w, given, ["status"]);
  given.forEach((id, k) => {
    if (statuses[k]?.[0] === null || statuses[k]?.[0] === undefined) throw notFound(id);
  });
  const set = new Set<number>();
  // Down: each finished given job's whole subtree, keeping the given job and what did not succeed.
  const roots = given.filter((_id, k) => isFinished(statuses[k]?.[0] ?? undefined));
  const seen = new Set(roots);
  const walk = [...roots];
  // The list grows as it is walked: each round takes what is there, up to READ_BATCH.
  for (let start = 0; start < walk.length;) {
    const batch = walk.slice(start, start + READ_BATCH);
    const info = await readFields(w, batch, ["status", "children"]);
    const found: number[][] = [];
    batch.forEach((id, k) => {
      const [status, children] = info[k] as Fields;
      // The walk starts with the given jobs, which are kept whatever their finished status.
      if (isFinished(status ?? undefined) && (start + k < roots.length || status !== "succeeded"))
        set.add(id);
      found.push(idList(children));
    });
    await eachYielding(found.flat(), (c) => {
      if (!seen.has(c)) {
        seen.add(c);
        walk.push(c);
      }
    });
    start += batch.length;
  }
  // Up: every finished ancestor of those.
  const parentsOf = new Map<number, number[]>();
  let frontier = [...set];
  while (frontier.length > 0) {
    const info = await readFields(w, frontier, ["parents"]);
    await eachYielding(frontier, (id, k) => parentsOf.set(id, idList(info[k]?.[0])));
    const up = new Set<number>();
    await eachYielding(frontier, (id) => {
      for (const p of parentsOf.get(id) as number[]) if (!parentsOf.has(p)) up.add(p);
    });
    const next = [...up];
    const statuses = await readFields(w, next, ["status"]);
    next.forEach((p, k) => {
      if (isFinished(statuses[k]?.[0] ?? undefined)) set.add(p);
    });
    frontier = next;
  }
  return parentsFirst(set, parentsOf);
}

/** The set's jobs ordered so that each job comes after its parents in the set (Kahn's order). */
async function parentsFirst(set: Set<number>, parentsOf: Map<number, number[]>): Promise<number[]> {
  const ids = [...set];
  const waiting = new Map<number, number>();
  const children = new Map<number, number[]>();
  await eachYielding(ids, (id) => {
    let inSet = 0;
    for (const p of parentsOf.get(id) ?? [])
      if (set.has(p)) {
        inSet++;
        const list = children.get(p);
        if (list) list.push(id);
        else children.set(p, [id]);
      }
    waiting.set(id, inSet);
  });
  const order = ids.filter((id) => waiting.get(id) === 0);
  // The list grows as it is walked, like the walks above; steps count children (a root may have 150,000).
  let steps = 0;
  for (let i = 0; i < order.length; i++)
    for (const c of children.get(order[i] as number) ?? []) {
      const left = (waiting.get(c) as number) - 1;
      waiting.set(c, left);
      if (left === 0) order.push(c);
      if (++steps % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  return order;
}
