// Search by name across all jobs, children included, and jump to an id. There is no name index in the store,
// and scanning the whole job table per request would grow with the farm's history. So the search is a
// BOUNDED scan, newest first: job ids are dense (INCR), so it reads the `name` field of ids below a cursor
// in pipelined chunks, stops after MAX_RESULTS matches or SCAN_LIMIT ids, and offers "search older" with the
// cursor where it stopped. A request costs at most SCAN_LIMIT small HGETs (measured in bench/dashboard.ts).

import type { Context } from "../context.js";
import type { Api } from "./api.js";
import { html, layout, type Html } from "./html.js";
import { rowsFor, tableHead } from "./jobs.js";

const SCAN_LIMIT = 20_000;
const CHUNK = 2_000;
const MAX_RESULTS = 100;

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

/** `/search?q=`: a number (or #number) jumps to that job; text searches names. */
export async function searchPage(
  ctx: Context,
  api: Api,
  query: string,
  beforeParam: string | null,
): Promise<Html | { redirect: string }> {
  const q = query.trim();
  const idMatch = /^#?(\d+)$/.exec(q);
  if (idMatch) return { redirect: `/jobs/${idMatch[1]}` };
  const newest = Number((await ctx.redis.get(ctx.keys.ids("job"))) ?? 0);
  const before = Math.min(newest + 1, Math.max(1, Number(beforeParam ?? newest + 1) || newest + 1));
  const result = q === "" ? { ids: [], stoppedAt: 1, scanned: 0 } : await searchNames(ctx, q, before);
  const older = result.stoppedAt > 1;
  const body = html`<h1>Search</h1>
    <form class="filters" method="get" action="/search">
      <label>Name or job id <input name="q" value="${q}" autofocus /></label>
      <button type="submit">Search</button>
    </form>
    ${
      q === ""
        ? html`<p class="muted">Type part of a job name (children included), or a job id.</p>`
        : html`<p id="search-summary">
              ${result.ids.length}${result.ids.length >= MAX_RESULTS ? "+" : ""}
              match${result.ids.length === 1 ? "" : "es"} for “${q}” among jobs
              ${result.stoppedAt}–${before - 1}${
                older
                  ? html` ·
                      <a href="/search?q=${encodeURIComponent(q)}&amp;before=${result.stoppedAt}"
                        >search older jobs</a
                      >`
                  : ""
              }
            </p>
            <table class="grid" id="search-results">
              ${tableHead()}
              <tbody>
                ${await rowsFor(ctx, api, result.ids)}
              </tbody>
            </table>`
    }`;
  return layout(`Search ${q}`, "/search", body);
}
