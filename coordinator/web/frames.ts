// The frame table on a parent's page: every child of the job, sorted, filtered by status and paged on the
// server. Sorted by id (the default), a page, the counts by status and the failures panel come from the
// parent's index of children, which the transitions keep (lua/includes/kidsIndex.lua): a 100,000-frame parent
// costs one readKidsPage.lua call and the page's rows. Sorted by another column, every child the filter shows is
// read in calls of nine fields of 1,000 children each (no per-child round trip, no HGETALL of 50-entry logs).
// Exit codes come from the status log, read only for the rows on the page. Host labels (`hostname:name`) come
// from the client hashes. The reads are in coordinator/store/job-frames.ts.

import type { Context } from "../context.js";
import { FINISHED_STATUSES, isFinished, isJobStatus } from "../../shared/statuses.js";
import {
  childIds,
  durationPage,
  exitCodes,
  frameOrder,
  hostLabels,
  NUMERIC_FRAME_SORTS,
  kidsInStatuses,
  readFrames,
  readKidsPage,
  type FamilyCounts,
  type Frame,
  type KidsPage,
} from "../store/job-frames.js";
import { runSeconds } from "../store/run-time.js";
import { normalizeFailure } from "../../shared/failure-groups.js";
import { jobActionButtons } from "./job-actions.js";
import { duration, gridTable, html, progressBar, sortHeaders, statusBadge, time, type Html } from "./html.js";

export const FRAME_SORTS = ["id", "name", "status", "host", "progress", "start", "duration", "attempts"];
export const FRAME_PAGE_SIZES = [50, 100, 250, 500];
/** A failure message in the URL is a group's key: normalized messages are at most this long. */
const MAX_ERROR_PARAM = 300;
/** Failure groups the panel lists; the rest are summed up in one line. */
const PANEL_GROUPS = 10;

const FAILED = ["failed", "abandoned"];

export interface FrameQuery {
  status: string;
  /** a normalized failure message (shared/failure-groups.ts): only failed frames that failed so */
  error: string;
  sort: string;
  desc: boolean;
  page: number;
  per: number;
}

export function readFrameQuery(params: URLSearchParams): FrameQuery {
  const status = params.get("fstatus") ?? "";
  const sort = params.get("fsort") ?? "id";
  const per = Number(params.get("fper") ?? "100");
  return {
    status: status === "done" || status === "bad" || isJobStatus(status) ? status : "",
    error: (params.get("ferror") ?? "").slice(0, MAX_ERROR_PARAM),
    sort: FRAME_SORTS.includes(sort) ? sort : "id",
    desc: params.get("fdir") === "desc",
    page: Math.max(1, Math.trunc(Number(params.get("fpage") ?? "1")) || 1),
    per: FRAME_PAGE_SIZES.includes(per) ? per : 100,
  };
}

/** Seconds a frame ran, paused time excluded (runSeconds), until now while it runs; NaN when it never started. */
export function frameSeconds(f: Frame, now: number): number {
  if (!Number.isFinite(f.end) && isFinished(f.status)) return NaN;
  return runSeconds(f, now);
}

function matches(f: Frame, status: string, error: string): boolean {
  if (
    error !== "" &&
    !(FAILED.includes(f.status) && (normalizeFailure(f.lastError) || "(no message)") === error)
  )
    return false;
  if (status === "") return true;
  if (status === "done") return f.status === "succeeded";
  if (status === "bad") return isFinished(f.status) && f.status !== "succeeded";
  return f.status === status;
}

/** Filters and sorts; ties (and NaN) fall back to the id so paging is stable. */
export function selectFrames(
  frames: Frame[],
  q: FrameQuery,
  labels: Map<number, string>,
  now: number,
): Frame[] {
  const picked = frames.filter((f) => matches(f, q.status, q.error));
  const host = (f: Frame): string => f.clientIds.map((c) => labels.get(c) ?? "").join(",");
  const key: Record<string, (f: Frame) => number | string> = {
    id: (f) => f.id,
    name: (f) => f.name,
    status: (f) => f.status,
    host,
    progress: (f) => f.progress,
    start: (f) => f.start,
    duration: (f) => frameSeconds(f, now),
    attempts: (f) => f.attempt,
  };
  const get = key[q.sort] ?? key["id"];
  if (!get) return picked;
  const sign = q.desc ? -1 : 1;
  const keyed = picked.map((f) => ({ f, k: get(f) }));
  keyed.sort((a, b) => {
    const x = a.k;
    const y = b.k;
    const xNaN = typeof x === "number" && Number.isNaN(x);
    const yNaN = typeof y === "number" && Number.isNaN(y);
    // Frames without a value (never started) go last in either direction.
    if (xNaN !== yNaN) return xNaN ? 1 : -1;
    let c = 0;
    if (!xNaN) c = typeof x === "string" ? x.localeCompare(String(y)) : (x as number) - (y as number);
    return c !== 0 ? c * sign : a.f.id - b.f.id;
  });
  return keyed.map((e) => e.f);
}

export function countsLabel(c: FamilyCounts | undefined): Html {
  if (!c) return html``;
  return html`<span class="counts" title="children: succeeded / failed or cancelled / running / total"
    ><span class="c-done">${c.done} done</span> · <span class="c-bad">${c.bad} failed</span> ·
    <span class="c-run">${c.running} running</span> <span class="muted">of ${c.total}</span></span
  >`;
}

function frameUrl(parentId: number, q: FrameQuery, change: Partial<FrameQuery>): string {
  const next = { ...q, ...change };
  const p = new URLSearchParams();
  if (next.status) p.set("fstatus", next.status);
  if (next.error) p.set("ferror", next.error);
  if (next.sort !== "id") p.set("fsort", next.sort);
  if (next.desc) p.set("fdir", "desc");
  if (next.per !== 100) p.set("fper", String(next.per));
  if (next.page > 1) p.set("fpage", String(next.page));
  const s = p.toString();
  return `/jobs/${parentId}/frames${s ? `?${s}` : ""}`;
}

/** A link that swaps the table in place and puts the job page's URL with the view in the address bar. */
function link(parentId: number, q: FrameQuery, change: Partial<FrameQuery>, body: Html | string): Html {
  const url = frameUrl(parentId, q, change);
  const page = url.replace("/frames", "");
  return html`<a href="${page}" hx-get="${url}" hx-target="#frames" hx-swap="outerHTML" hx-push-url="${page}"
    >${body}</a
  >`;
}

const COLUMNS: [string, string | null][] = [
  ["ID", "id"],
  ["Name", "name"],
  ["Status", "status"],
  ["Host", "host"],
  ["Progress", "progress"],
  ["Started", "start"],
  ["Duration", "duration"],
  ["Attempts", "attempts"],
  ["Exit", null],
  ["Last error", null],
];

const FILTERS: [string, string][] = [
  ["", "all"],
  ["done", "succeeded"],
  ["bad", "failed/cancelled"],
  ["failed", "failed"],
  ["running", "running"],
  ["runnable", "waiting"],
  ["paused", "paused"],
];

/**
 * The failed frames grouped by normalized message with counts, largest first; a click shows that group's
 * frames in the table. From the parent's index of children (readKidsPage): its failure counts, maintained by
 * the transitions, and one example message per group shown, so no log and no other child is read.
 */
function failuresPanel(parentId: number, q: FrameQuery, view: KidsPage): Html {
  const shown = [...view.failures].sort((a, b) => b.count - a.count || a.message.localeCompare(b.message));
  if (shown.length === 0) return html``;
  const failed = FAILED.reduce((n, s) => n + (view.counts.get(s) ?? 0), 0);
  const rest = failed - shown.reduce((n, g) => n + g.count, 0);
  return html`<div class="failures" id="failures">
    <h3>Failures by message</h3>
    <table class="grid">
      <tbody>
        ${shown.map(
          (g) =>
            html`<tr class="failure-group${g.message === q.error ? " active" : ""}" data-count="${g.count}">
              <td class="num">${g.count}</td>
              <td>
                ${link(parentId, q, { status: "", error: g.message, page: 1 }, g.message)}
                ${g.example !== g.message ? html`<span class="muted" title="one of them">${g.example}</span>` : ""}
              </td>
            </tr>`,
        )}
      </tbody>
    </table>
    ${rest > 0 ? html`<p class="muted">${rest} more failed frames with ${view.failureGroups - shown.length} other messages</p>` : ""}
    ${q.error !== "" ? html`<p>${link(parentId, q, { error: "", page: 1 }, "show all frames")}</p>` : ""}
  </div>`;
}

/** The statuses a status filter shows ([]: all). */
function filterStatuses(status: string): string[] {
  if (status === "") return [];
  if (status === "done") return ["succeeded"];
  if (status === "bad") return FINISHED_STATUSES.filter((s) => s !== "succeeded");
  return [status];
}

/** Ids a readKidsPage call returns at most when a whole filtered set is read (each call a few ms of Redis). */
const IDS_CHUNK = 5000;

/** The ids of every child the filter shows, by id: the child list, or the index in chunks. */
async function matchingIds(ctx: Context, parentId: number, q: FrameQuery, total: number): Promise<number[]> {
  const statuses = q.error !== "" ? [] : filterStatuses(q.status);
  if (statuses.length === 0 && q.error === "") return childIds(ctx, parentId);
  const chunks: Promise<KidsPage>[] = [];
  for (let offset = 0; offset < total; offset += IDS_CHUNK)
    chunks.push(
      readKidsPage(ctx, parentId, {
        statuses,
        failure: q.error,
        desc: false,
        offset,
        count: IDS_CHUNK,
        groups: 0,
      }),
    );
  return (await Promise.all(chunks)).flatMap((c) => c.ids);
}

interface FramePage {
  view: KidsPage;
  rows: Frame[];
  /** frames matching the filter */
  matching: number;
  page: number;
  labels: Map<number, string>;
}

/**
 * The page to show. Sorted by id (the default), the index gives the page's ids and only those children are
 * read. Sorted by a numeric column, each chunk of the children the filter shows is sorted inside Redis and
 * only its head up to this page comes back (frameOrder). Sorted by name, status or host, every child the
 * filter shows is read and sorted here (the filter bounds it).
 */
async function framePage(ctx: Context, parentId: number, q: FrameQuery, now: number): Promise<FramePage> {
  const byIndex = q.sort === "id" && !(q.error !== "" && q.status !== "");
  const query = (page: number, count: number): Promise<KidsPage> =>
    readKidsPage(ctx, parentId, {
      statuses: q.error !== "" ? [] : filterStatuses(q.status),
      failure: q.error,
      desc: q.desc,
      offset: (page - 1) * q.per,
      count,
      groups: PANEL_GROUPS,
    });
  let view = await query(q.page, byIndex ? q.per : 0);
  if (byIndex) {
    const page = Math.min(q.page, Math.max(1, Math.ceil(view.total / q.per)));
    if (page !== q.page) view = await query(page, q.per);
    const rows = await readFrames(ctx, view.ids);
    const labels = await hostLabels(
      ctx,
      rows.flatMap((f) => f.clientIds),
    );
    return { view, rows, matching: view.total, page, labels };
  }
  if (q.sort === "duration" && q.status === "" && q.error === "") {
    // Every child shown, by duration: from the parent's duration index, when the page is within it.
    const page = Math.min(q.page, Math.max(1, Math.ceil(view.total / q.per)));
    const offset = (page - 1) * q.per;
    const ids = await durationPage(ctx, parentId, q.desc, offset, Math.min(q.per, view.total - offset), now);
    if (ids !== null) {
      const rows = await readFrames(ctx, ids);
      const labels = await hostLabels(
        ctx,
        rows.flatMap((f) => f.clientIds),
      );
      return { view, rows, matching: view.total, page, labels };
    }
  }
  const ids = await matchingIds(ctx, parentId, q, view.total);
  if (NUMERIC_FRAME_SORTS.includes(q.sort) && !(q.error !== "" && q.status !== "")) {
    // Sorted inside Redis, chunk by chunk: only the heads up to this page come back, then its rows.
    const page = Math.min(q.page, Math.max(1, Math.ceil(view.total / q.per)));
    const order = await frameOrder(ctx, ids, q.sort, q.desc, page * q.per, now);
    const rows = await readFrames(ctx, order.ids.slice((page - 1) * q.per));
    const labels = await hostLabels(
      ctx,
      rows.flatMap((f) => f.clientIds),
    );
    return { view, rows, matching: order.found, page, labels };
  }
  const frames = await readFrames(ctx, ids);
  const labels = await hostLabels(
    ctx,
    frames.flatMap((f) => f.clientIds),
  );
  const picked = selectFrames(frames, q, labels, now);
  const page = Math.min(q.page, Math.max(1, Math.ceil(picked.length / q.per)));
  return {
    view,
    rows: picked.slice((page - 1) * q.per, page * q.per),
    matching: picked.length,
    page,
    labels,
  };
}

/** The frame table of a parent: counts, filters, bulk bar, sortable paged table. Refreshes itself. */
export async function frameTable(ctx: Context, parentId: number, q: FrameQuery): Promise<Html> {
  const now = Date.now();
  const { view, rows, matching, page, labels } = await framePage(ctx, parentId, q, now);
  const pages = Math.max(1, Math.ceil(matching / q.per));
  const exits = await exitCodes(
    ctx,
    rows.filter((f) => isFinished(f.status)).map((f) => f.id),
  );
  const self = frameUrl(parentId, q, { page });
  const summary = [...view.counts.entries()].sort((a, b) => a[0].localeCompare(b[0]));
  const children = summary.reduce((n, [, count]) => n + count, 0);
  return html`<section
    id="frames"
    class="frames"
    data-parent="${parentId}"
    data-query="${self.split("?")[1] ?? ""}"
    hx-get="${self}"
    hx-trigger="every 3s [autoRefresh()]"
    hx-swap="outerHTML"
  >
    <h2>Frames <span class="muted">(${children})</span></h2>
    <p class="frame-counts">${summary.map(([s, n]) => html`${statusBadge(s, `${n} ${s}`)} `)}</p>
    ${failuresPanel(parentId, q, view)}
    <div class="frame-filters">
      Show:
      ${FILTERS.map(([value, label]) =>
        value === q.status && q.error === ""
          ? html`<strong>${label}</strong> `
          : html`${link(parentId, q, { status: value, error: "", page: 1 }, label)} `,
      )}
    </div>
    <div class="bulk" data-parent="${parentId}">
      <span class="bulk-count">0 selected</span>
      ${jobActionButtons("bulk", ["cancelJobs", "rescheduleJobs", "pauseJobs", "resumeJobs", "ejectJobs"])}
      <button type="button" class="reschedule-failed" data-parent="${parentId}">
        Reschedule all failed (${(view.counts.get("failed") ?? 0) + (view.counts.get("abandoned") ?? 0)})
      </button>
    </div>
    ${gridTable(
      [
        html`<th><input type="checkbox" class="select-page" title="select all on this page" /></th>`,
        ...sortHeaders(COLUMNS, q, (sort, desc, text) => link(parentId, q, { sort, desc, page: 1 }, text)),
      ],
      rows.map((f) => {
        const seconds = frameSeconds(f, now);
        return html`<tr class="frame" data-id="${f.id}" data-status="${f.status}">
          <td><input type="checkbox" class="sel" data-id="${f.id}" /></td>
          <td class="num"><a href="/jobs/${f.id}">${f.id}</a></td>
          <td class="name"><a href="/jobs/${f.id}">${f.name}</a></td>
          <td>${statusBadge(f.status)}</td>
          <td>${f.clientIds.map((c) => html`<a href="/clients/${c}">${labels.get(c) ?? c}</a> `)}</td>
          <td>${progressBar(f.progress)}</td>
          <td>${time(Number.isFinite(f.start) ? new Date(f.start) : null)}</td>
          <td class="num duration" data-seconds="${Number.isFinite(seconds) ? seconds.toFixed(1) : ""}">
            ${duration(seconds)}
          </td>
          <td class="num">${f.attempt}</td>
          <td class="num exit">${exits.get(f.id) ?? ""}</td>
          <td class="last-error" title="${f.lastError}">${f.lastError}</td>
        </tr>`;
      }),
      "No frames match.",
      { class: "frame-table" },
    )}
    <div class="pager">
      <span>${matching} frame${matching === 1 ? "" : "s"} · page ${page} of ${pages}</span>
      ${page > 1 ? html`${link(parentId, q, { page: 1 }, "« first")} ${link(parentId, q, { page: page - 1 }, "‹ prev")}` : ""}
      ${page < pages ? html`${link(parentId, q, { page: page + 1 }, "next ›")} ${link(parentId, q, { page: pages }, "last »")}` : ""}
      · per page
      ${FRAME_PAGE_SIZES.map((n) => (n === q.per ? html`<strong>${n}</strong> ` : html`${link(parentId, q, { per: n, page: 1 }, String(n))} `))}
    </div>
  </section>`;
}

/** Ids of the children in any of `statuses` (the bulk bar's "all failed"), JSON for app.js. */
export async function frameIds(ctx: Context, parentId: number, statuses: string[]): Promise<number[]> {
  if (statuses.length === 0) return (await childIds(ctx, parentId)).sort((a, b) => a - b);
  return kidsInStatuses(ctx, parentId, statuses.filter(isJobStatus));
}
