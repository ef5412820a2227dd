// The jobs pages: the paged, filtered list of jobs with lazily expanded child trees, and one job's page
// (attributes, status log, live output, notes, actions). Everything is read through the public API; the
// page's buttons call the same XML-RPC methods from the browser (static/app.js), so access control and
// validation are the API's.

import { isStruct, type CallContext, type XmlRpcValue } from "../../shared/xmlrpc/types.js";
import type { Context } from "../context.js";
import { NoteStore } from "../store/notes.js";
import { statusWord, treeCounts } from "../../shared/status-words.js";
import { familyCounts, hostLabels, type FamilyCounts } from "../store/job-frames.js";
import {
  LIST_SCOPES,
  LIST_SORTS,
  SCAN_LIMIT,
  listJobs,
  type ListPage,
  type ListSort,
} from "../store/job-list.js";
import { JobStore, type JobRecord } from "../store/jobs.js";
import { fieldsFor, jobAttributes, readJobView } from "../store/job-view.js";
import { JOB_STATUSES } from "../../shared/statuses.js";
import { RUN_ATTRIBUTES } from "../../shared/run-attributes.js";
import { countsLabel, frameTable, type FrameQuery } from "./frames.js";
import { jobActionButtons } from "./job-actions.js";
import {
  attrTable,
  filterFormEnd,
  html,
  layout,
  progressBar,
  refreshing,
  statusBadge,
  time,
  unitValue,
  type Html,
} from "./html.js";

type Job = Record<string, XmlRpcValue | undefined>;

const LIST_ATTRIBS = [
  "id",
  "name",
  "status",
  "uiStatus",
  "priority",
  "overallProgress",
  "submittedBy",
  "queueTime",
  "startTime",
  "endTime",
  "children",
  "clients",
  "childCounts",
  "waitingFor",
];
const PAGE_SIZES = [25, 50, 100, 200];
const MAX_CHILD_ROWS = 200;

export interface JobQuery {
  scope: string;
  name: string;
  submitter: string;
  page: number;
  per: number;
  sort: ListSort;
  desc: boolean;
}

export function readJobQuery(params: URLSearchParams): JobQuery {
  const page = Math.max(1, Math.trunc(Number(params.get("page") ?? "1")) || 1);
  const per = Number(params.get("per") ?? "50");
  return {
    scope: params.get("status") || "unfinished",
    name: (params.get("name") ?? "").trim(),
    submitter: (params.get("submitter") ?? "").trim(),
    page,
    per: PAGE_SIZES.includes(per) ? per : 50,
    sort: LIST_SORTS.find((s) => s === params.get("sort")) ?? "id",
    desc: params.get("dir") === "desc",
  };
}

/** The jobs that exist of `ids` (each once), with the attributes a script's getJobs would give. */
export async function readJobs(ctx: Context, ids: number[], attribs: string[]): Promise<Job[]> {
  const now = Date.now();
  const rows = await new JobStore(ctx).read([...new Set(ids)], fieldsFor(attribs));
  return rows.filter((row): row is JobRecord => row !== null).map((row) => jobAttributes(row, attribs, now));
}

function queryString(q: JobQuery, page: number): string {
  const p = new URLSearchParams();
  if (q.scope !== "unfinished") p.set("status", q.scope);
  if (q.name) p.set("name", q.name);
  if (q.submitter) p.set("submitter", q.submitter);
  if (q.per !== 50) p.set("per", String(q.per));
  if (q.sort !== "id") p.set("sort", q.sort);
  if (q.desc) p.set("dir", "desc");
  if (page > 1) p.set("page", String(page));
  const s = p.toString();
  return s === "" ? "/jobs" : `/jobs?${s}`;
}

/** Client ids of a job's `clients` attribute ([{hostname, clientId, master}]). */
function clientIdsOf(job: Job): number[] {
  const clients = Array.isArray(job["clients"]) ? job["clients"] : [];
  return clients.map((c) => (isStruct(c) ? Number(c["clientId"]) : NaN)).filter(Number.isFinite);
}

/** What a row needs besides the job's attributes: host labels and its children's counts. */
interface RowExtras {
  labels: Map<number, string>;
  counts: Map<number, FamilyCounts>;
  open: Set<number>;
}

async function rowExtras(ctx: Context, jobs: Job[], open: Set<number>): Promise<RowExtras> {
  const [labels, counts] = await Promise.all([
    hostLabels(ctx, jobs.flatMap(clientIdsOf)),
    familyCounts(
      ctx,
      jobs
        .filter((j) => Array.isArray(j["children"]) && j["children"].length > 0)
        .map((j) => Number(j["id"])),
    ),
  ]);
  return { labels, counts, open };
}

function hostLinks(ids: number[], labels: Map<number, string>): Html {
  return html`${ids.map((c) => html`<a href="/clients/${c}">${labels.get(c) ?? `client ${c}`}</a> `)}`;
}

/**
 * A job's status as wranglers read it (shared/status-words.ts): a parent whose children run is "rendering
 * 12 of 300" in the running colour, one whose children wait "waiting"; HQueue's status stays in data-status.
 */
function jobBadge(job: Job): Html {
  const status = String(job["status"] ?? "");
  const word = statusWord(status, String(job["uiStatus"] ?? ""), treeCounts(job["childCounts"]));
  const badge = statusBadge(word.startsWith("rendering ") ? "running" : status, word);
  // Why a waiting job waits, on hover: the list has no room for the sentence, the job page shows it whole.
  const waitingFor = String(job["waitingFor"] ?? "");
  return waitingFor !== "" && (status === "queued" || status === "runnable")
    ? html`<span class="waiting-for" title="${waitingFor}">${badge}</span>`
    : badge;
}

function jobRow(job: Job, depth: number, extras: RowExtras): Html {
  const id = Number(job["id"]);
  const children = Array.isArray(job["children"]) ? job["children"] : [];
  const counts = extras.counts.get(id);
  const expanded = children.length > 0 && extras.open.has(id);
  return html`<tr class="job depth-${Math.min(depth, 8)}" data-id="${id}" data-depth="${depth}">
    <td class="pick"><input type="checkbox" class="jsel" data-id="${id}" aria-label="select job ${id}" /></td>
    <td class="tree" style="padding-left:${0.4 + depth * 1.2}em">
      ${
        children.length > 0
          ? html`<button
              class="toggle"
              type="button"
              aria-expanded="${expanded ? "true" : "false"}"
              data-job="${id}"
              title="${children.length} children"
            >
              ${expanded ? "▾" : "▸"}
            </button>`
          : html`<span class="leaf">·</span>`
      }<a href="/jobs/${id}">${id}</a>
    </td>
    <td class="name">
      <a href="/jobs/${id}">${String(job["name"] ?? "")}</a>${
        children.length > 0 ? html` <span class="muted">(${children.length})</span>` : ""
      }
    </td>
    <td>${jobBadge(job)} ${countsLabel(counts)}</td>
    <td class="num">${String(job["priority"] ?? 0)}</td>
    <td>${progressBar(job["overallProgress"])}</td>
    <td>${String(job["submittedBy"] ?? "")}</td>
    <td>${hostLinks(clientIdsOf(job), extras.labels)}</td>
    <td>${time(job["queueTime"])}</td>
    <td>${time(job["endTime"])}</td>
  </tr>`;
}

const HEAD: [string, ListSort | null][] = [
  ["ID", "id"],
  ["Name", "name"],
  ["Status", "status"],
  ["Pri", "priority"],
  ["Progress", null],
  ["Submitted by", "submittedBy"],
  ["Clients", null],
  ["Queued", null],
  ["Ended", null],
];

/** The list's header; with a query, the sortable columns link to their sort (again: the other direction). */
export function tableHead(q?: JobQuery): Html {
  return html`<thead>
    <tr>
      <th class="pick">
        ${q ? html`<input type="checkbox" class="select-jobs" title="select all on this page" />` : ""}
      </th>
      ${HEAD.map(([label, sort]) => {
        if (!q || sort === null) return html`<th>${label}</th>`;
        const active = q.sort === sort;
        // id sorts newest first by default; the others A-Z / low-high first.
        const desc = active ? !q.desc : false;
        const arrow = active ? ((sort === "id") !== q.desc ? " ▾" : " ▴") : "";
        return html`<th class="${active ? "sorted" : ""}" data-sort="${sort}">
          <a href="${queryString({ ...q, sort, desc }, 1)}">${label}${arrow}</a>
        </th>`;
      })}
    </tr>
  </thead>`;
}

/** Open trees rendered inline on a refresh: at most this many, so a request cannot ask for the farm. */
const MAX_OPEN = 50;

/** `open=1,2,3`: the trees expanded in the browser, kept open across refreshes (static/app.js sends them). */
export function readOpen(params: URLSearchParams): Set<number> {
  const ids = (params.get("open") ?? "")
    .split(",")
    .map(Number)
    .filter((n) => Number.isSafeInteger(n) && n > 0);
  return new Set(ids.slice(0, MAX_OPEN));
}

/** Rows for jobs and, under each open one, its children (recursively, each level capped). */
async function treeRows(ctx: Context, jobs: Job[], depth: number, open: Set<number>): Promise<Html> {
  const extras = await rowExtras(ctx, jobs, open);
  const parts: Html[] = [];
  for (const job of jobs) {
    parts.push(jobRow(job, depth, extras));
    const id = Number(job["id"]);
    if (open.has(id) && depth < 50) parts.push(await childRows(ctx, id, depth + 1, open));
  }
  return html`${parts}`;
}

/** The rows of the list for `ids` (any jobs, e.g. search results), in that order. */
export async function rowsFor(ctx: Context, ids: number[]): Promise<Html> {
  const jobs = ids.length === 0 ? [] : await readJobs(ctx, ids, LIST_ATTRIBS);
  return treeRows(ctx, jobs, 0, new Set());
}

/** "121 jobs · page 1 of 5", and where a filter or sort stopped looking (store/job-list.ts). */
function countLine(list: ListPage, page: number, pages: number): string {
  const jobs = `${list.total} job${list.total === 1 ? "" : "s"}`;
  const scanned = list.complete
    ? ""
    : ` among the first ${SCAN_LIMIT.toLocaleString("en-US")} of this status (older ones not searched)`;
  return `${jobs}${scanned} · page ${page} of ${pages}`;
}

/** The table (and pager) alone: what the page polls every few seconds. */
export async function jobsTable(ctx: Context, q: JobQuery, open = new Set<number>()): Promise<Html> {
  const at = (page: number) =>
    listJobs(ctx.redis, ctx.keys, { ...q, offset: (page - 1) * q.per, count: q.per });
  let list = await at(q.page);
  const pages = Math.max(1, Math.ceil(list.total / q.per));
  const page = Math.min(q.page, pages);
  // A page past the end shows the last.
  if (page !== q.page) list = await at(page);
  const jobs = list.ids.length === 0 ? [] : await readJobs(ctx, list.ids, LIST_ATTRIBS);
  const self = queryString(q, page);
  return refreshing(
    "jobs-table",
    self,
    html`<table class="grid">
        ${tableHead(q)}
        <tbody>
          ${
            jobs.length === 0
              ? html`<tr>
                  <td colspan="10" class="empty">No jobs match.</td>
                </tr>`
              : await treeRows(ctx, jobs, 0, open)
          }
        </tbody>
      </table>
      <div class="pager">
        <span>${countLine(list, page, pages)}</span>
        ${page > 1 ? html`<a href="${queryString(q, 1)}">« first</a> <a href="${queryString(q, page - 1)}" rel="prev">‹ prev</a>` : ""}
        ${page < pages ? html`<a href="${queryString(q, page + 1)}" rel="next">next ›</a> <a href="${queryString(q, pages)}">last »</a>` : ""}
      </div>`,
  );
}

/** The most ids "select all matching" takes: the bulk bar acts on them in chunks (static/app.js). */
export const MAX_SELECT = 100_000;

/** The query's parameters without its page: what /jobs.json reads to select every matching job. */
function filterParams(q: JobQuery): string {
  const url = queryString(q, 1);
  const at = url.indexOf("?");
  return at < 0 ? "" : url.slice(at + 1);
}

/**
 * Actions on the jobs ticked in the list, or on every job matching the filter. The browser calls the same
 * XML-RPC methods as a job page's buttons (so the same access control and audit), a chunk of ids a call.
 */
function bulkBar(q: JobQuery): Html {
  return html`<div class="job-bulk" data-query="${filterParams(q)}">
    <span class="job-count">0 selected</span>
    <button type="button" class="select-matching">Select all matching</button>
    <button type="button" class="clear-jobs">Clear</button>
    ${jobActionButtons("job", ["pauseJobs", "resumeJobs", "rescheduleJobs", "cancelJobs"])}
    <span class="job-progress muted" role="status"></span>
  </div>`;
}

export async function jobsPage(ctx: Context, q: JobQuery): Promise<Html> {
  const scopes = [...LIST_SCOPES, ...JOB_STATUSES];
  const body = html`<h1>Jobs</h1>
    <form class="filters" method="get" action="/jobs">
      <label
        >Status
        <select name="status">
          ${scopes.map((s) => html`<option value="${s}" ${s === q.scope ? html`selected` : ""}>${s}</option>`)}
        </select></label
      >
      <label>Name <input name="name" value="${q.name}" placeholder="contains…" /></label>
      <label>Submitted by <input name="submitter" value="${q.submitter}" placeholder="user" /></label>
      <label
        >Per page
        <select name="per">
          ${PAGE_SIZES.map((n) => html`<option ${n === q.per ? html`selected` : ""}>${n}</option>`)}
        </select></label
      >
      ${filterFormEnd(q, "id")}
    </form>
    ${bulkBar(q)} ${await jobsTable(ctx, q)}`;
  return layout("Jobs", "/jobs", body);
}

/** Rows for the children of one job, inserted under its row when expanded (the rest: its frame table). */
export async function childRows(
  ctx: Context,
  id: number,
  depth: number,
  open = new Set<number>(),
): Promise<Html> {
  const [parent] = await readJobs(ctx, [id], ["children"]);
  const all = Array.isArray(parent?.["children"]) ? (parent["children"] as number[]) : [];
  const ids = all.slice(0, MAX_CHILD_ROWS);
  const jobs = ids.length === 0 ? [] : await readJobs(ctx, ids, LIST_ATTRIBS);
  const more = all.length - ids.length;
  return html`${await treeRows(ctx, jobs, depth, open)}${
    more > 0
      ? html`<tr class="job depth-${depth}" data-depth="${depth}">
          <td colspan="10" class="muted" style="padding-left:${0.4 + depth * 1.2}em">
            … ${more} more children:
            <a href="/jobs/${id}#frames">all ${all.length} in job ${id}'s frame table</a>
          </td>
        </tr>`
      : ""
  }`;
}

const ACTIONS: [string, string, string][] = [
  ["cancelJobs", "Cancel", "danger"],
  ["pauseJobs", "Pause", ""],
  ["resumeJobs", "Resume", ""],
  ["rescheduleJobs", "Reschedule", ""],
  ["ejectJobs", "Eject", ""],
  ["deleteJobs", "Delete", "danger"],
];

/** Attributes shown beside the output; the rest are in "All attributes". */
const KEY_ATTRIBS = [
  "status",
  "uiStatus",
  "waitingFor",
  "lastError",
  "priority",
  "progress",
  "triesLeft",
  "submittedBy",
  "share",
  ...RUN_ATTRIBUTES,
  "command",
  "tags",
  "conditions",
  "resources",
];

/** The job page's head (name, status, progress, family): refreshes itself every 2 s. */
export async function jobHead(ctx: Context, id: number): Promise<Html> {
  const [job] = await readJobs(
    ctx,
    [id],
    ["name", "status", "uiStatus", "overallProgress", "parents", "children", "childCounts"],
  );
  if (!job) return html``;
  const children = Array.isArray(job["children"]) ? (job["children"] as number[]) : [];
  const parents = Array.isArray(job["parents"]) ? (job["parents"] as number[]) : [];
  const counts = (await familyCounts(ctx, [id])).get(id);
  return html`<section
    id="job-head"
    hx-get="/jobs/${id}/head"
    hx-trigger="every 2s"
    hx-swap="outerHTML"
    data-status="${String(job["status"] ?? "")}"
  >
    <div class="job-head">
      <h1>Job ${id}: ${String(job["name"] ?? "")}</h1>
      ${jobBadge(job)} ${progressBar(job["overallProgress"])} ${countsLabel(counts)}
    </div>
    <p class="links">
      ${parents.length > 0 ? html`Parents: ${parents.map((p) => html`<a href="/jobs/${p}">${p}</a> `)}` : "Root job"}${
        children.length > 0 ? html` · <a href="#frames">${children.length} children</a>` : ""
      }
    </p>
  </section>`;
}

/** Key attributes and the status log beside the output: refreshes itself every 2 s. */
export async function jobSide(ctx: Context, id: number): Promise<Html> {
  const [job] = await readJobs(ctx, [id], [...KEY_ATTRIBS, "logs"]);
  if (!job) return html``;
  const logs = Array.isArray(job["logs"]) ? (job["logs"] as XmlRpcValue[][]) : [];
  const [labels, counts] = await Promise.all([hostLabels(ctx, clientIdsOf(job)), familyCounts(ctx, [id])]);
  const family = counts.get(id);
  return html`<aside id="job-side" hx-get="/jobs/${id}/side" hx-trigger="every 2s" hx-swap="outerHTML">
    ${attrTable(job, KEY_ATTRIBS, (k, v) => {
      if (k === "clients") return hostLinks(clientIdsOf(job), labels);
      // A parent's uiStatus counts running descendants, not clients ("running (12 clients assigned)" on a
      // 3-machine farm): its children's counts say what it means.
      if (k === "uiStatus" && family) return countsLabel(family);
      return unitValue(k, v);
    })}
    <h2>Status log</h2>
    <table class="log">
      <tbody>
        ${
          logs.length === 0
            ? html`<tr>
                <td class="muted">empty</td>
              </tr>`
            : [...logs].reverse().map(
                (e) =>
                  html`<tr>
                    <td class="when">${time(e[1])}</td>
                    <td>${String(e[0] ?? "")}</td>
                  </tr>`,
              )
        }
      </tbody>
    </table>
  </aside>`;
}

export async function notesSection(
  ctx: Context,
  owner: { jobId?: number; clientId?: number },
  threadId: unknown,
): Promise<Html> {
  const notes =
    typeof threadId === "number" ? ((await new NoteStore(ctx).notes([threadId], [0, -1]))[0] ?? []) : [];
  return html`<section id="notes" class="notes">
    <h2>Notes</h2>
    <ul>
      ${notes.length === 0 ? html`<li class="muted">No notes.</li>` : notes.map((n) => html`<li><span class="when">${time(new Date(n.date))}</span> ${n.text}</li>`)}
    </ul>
    <form class="note-form" data-job="${owner.jobId ?? ""}" data-client="${owner.clientId ?? ""}">
      <input name="text" placeholder="Add a note…" required />
      <button type="submit">Add note</button>
    </form>
  </section>`;
}

/**
 * Where the job may run, editable: its conditions as JSON in newjob's format (setJobConditions), or a list of
 * clients (savePermittedClientsList, which replaces the conditions with a hostname condition).
 */
function conditionsEditor(id: number, conditions: XmlRpcValue | undefined): Html {
  const list = Array.isArray(conditions) ? conditions : [];
  return html`<details class="edit-conditions">
    <summary>Edit conditions (${list.length === 0 ? "none: any client" : `${list.length}`})</summary>
    <form class="conditions-form" data-job="${id}">
      <label
        >Conditions, as newjob takes them (JSON; <code>[]</code> for none)
        <textarea name="conditions" rows="4" spellcheck="false">${JSON.stringify(list, null, 1)}</textarea>
      </label>
      <button type="submit">Save conditions</button>
    </form>
    <form class="permitted-form" data-job="${id}">
      <label
        >Or only these clients
        <input name="clients" placeholder="vm:blade01, vm:blade02 (replaces the conditions)" /></label
      ><button type="submit">Save permitted clients</button>
    </form>
  </details>`;
}

export async function jobPage(
  ctx: Context,
  caller: CallContext,
  id: number,
  frames: FrameQuery,
): Promise<Html> {
  const job: Job = await readJobView(new JobStore(ctx), id, undefined, caller);
  const hidden = new Set(["logs"]);
  const hasChildren = Array.isArray(job["children"]) && job["children"].length > 0;
  const held = clientIdsOf({ clients: job["clientsOnHold"] });
  const labels = await hostLabels(ctx, [...clientIdsOf(job), ...held]);
  // A commandless parent has no output of its own: its page is its frame table.
  const hasOutput = !(hasChildren && (job["command"] === "" || job["command"] === null));
  const body = html`${await jobHead(ctx, id)}
    <div class="actions" data-job="${id}">
      ${ACTIONS.map(([method, label, kind]) => html`<button type="button" class="action ${kind}" data-method="${method}">${label}</button>`)}
      <form class="priority-form" data-method="setJobPriority">
        <label
          >Priority
          <input type="number" min="0" name="priority" value="${String(job["priority"] ?? 0)}" /></label
        ><button type="submit">Set</button>
      </form>
    </div>
    ${conditionsEditor(id, job["conditions"])} ${hasChildren ? await frameTable(ctx, id, frames) : ""}
    ${hasChildren ? html`<div class="charts"><img src="/jobs/${id}/render-times.svg" alt="Render time per frame" /></div>` : ""}
    <div class="job-body">
      ${
        hasOutput
          ? html`<section class="output">
              <h2>Output <span id="output-state" class="muted">connecting…</span></h2>
              <pre id="output" data-job="${id}"></pre>
              <form class="log-download" action="/jobs/${id}/log" method="get">
                <a href="/jobs/${id}/log/view">Log viewer</a> ·
                <a href="/jobs/${id}/log">Download the log</a> · of attempt
                <input type="number" min="1" name="attempt" /><button type="submit">Download</button>
              </form>
            </section>`
          : ""
      }
      ${await jobSide(ctx, id)}
    </div>
    ${await notesSection(ctx, { jobId: id }, job["threadId"])}
    <details class="all-attrs">
      <summary>All attributes</summary>
      ${attrTable(
        job,
        Object.keys(job)
          .filter((k) => !hidden.has(k))
          .sort(),
        (k, v) =>
          k === "clients" || k === "clientsOnHold"
            ? hostLinks(clientIdsOf({ clients: v }), labels)
            : unitValue(k, v),
      )}
    </details>`;
  return layout(`Job ${id}`, "/jobs", body);
}
