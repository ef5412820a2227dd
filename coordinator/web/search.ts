// The /search page: a job id jumps to that job; text searches names across all jobs, children included,
// with the bounded newest-first scan of coordinator/store/job-search.ts, and offers "search older" with the
// cursor where it stopped.

import type { Context } from "../context.js";
import { MAX_RESULTS, newestJobId, searchNames } from "../store/job-search.js";
import { html, layout, type Html } from "./html.js";
import { rowsFor, tableHead } from "./jobs.js";

/** `/search?q=`: a number (or #number) jumps to that job; text searches names. */
export async function searchPage(
  ctx: Context,
  query: string,
  beforeParam: string | null,
): Promise<Html | { redirect: string }> {
  const q = query.trim();
  const idMatch = /^#?(\d+)$/.exec(q);
  if (idMatch) return { redirect: `/jobs/${idMatch[1]}` };
  const newest = await newestJobId(ctx);
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
                ${await rowsFor(ctx, result.ids)}
              </tbody>
            </table>`
    }`;
  return layout(`Search ${q}`, "/search", body);
}
