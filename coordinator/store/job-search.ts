// Search by name across all jobs, children included (the dashboard's /search page, web/search.ts). There is
// no name index in the store, and scanning the whole job table per request would grow with the farm's
// history. So the search is a BOUNDED scan, newest first: job ids are dense (INCR), so it reads the `name`
// field of ids below a cursor in pipelined chunks and stops after MAX_RESULTS matches or SCAN_LIMIT ids,
// returning where it stopped. A request costs at most SCAN_LIMIT small HGETs (measured in bench/dashboard.ts).

import type { Context } from "../context.js";

const SCAN_LIMIT = 20_000;
const CHUNK = 2_000;
export const MAX_RESULTS = 100;

export interface SearchResult {
  ids: number[];
  /** the lowest id looked at; 1 = everything was searched */
  stoppedAt: number;
  scanned: number;
}

/** Jobs whose name contains `text` (case-insensitive), newest first, among ids below `before`. */
export async function searchNames(ctx: Context, text: string, before: number): Promise<SearchResult> {
  const needle = text.toLowerCase();
  const ids: number[] = [];
  let id = before - 1;
  let scanned = 0;
  while (id >= 1 && scanned < SCAN_LIMIT && ids.length < MAX_RESULTS) {
    const chunk: number[] = [];
    for (let k = 0; k < CHUNK && id >= 1; k++, id--) chunk.push(id);
    const pipeline = ctx.redis.pipeline();
    for (const j of chunk) pipeline.hget(ctx.keys.job(j), "name");
    const names = (await pipeline.exec()) ?? [];
    scanned += chunk.length;
    names.forEach(([err, name], i) => {
      if (!err && typeof name === "string" && ids.length < MAX_RESULTS && name.toLowerCase().includes(needle))
        ids.push(chunk[i] as number);
    });
    if (ids.length >= MAX_RESULTS) id = (ids[ids.length - 1] as number) - 1;
  }
  return { ids, stoppedAt: Math.max(1, id + 1), scanned };
}

/** The highest job id handed out so far (0 before the first job). */
export async function newestJobId(ctx: Context): Promise<number> {
  return Number((await ctx.redis.get(ctx.keys.ids("job"))) ?? 0);
}
