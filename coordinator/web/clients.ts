// The Clients page: every blade (100 a page) with its state, what it renders ("shot 090 · f12 · anna · 1m 20s · 45%"),
// load, memory and groups; sorted and filtered on the server (state, group, name: all in the URL), and a
// selection for bulk disable / enable / add to group, made by the page's script (static/app.js) through the
// public API (setdisabled, addClientToGroup) as a script would.

import { CLIENT_STATES, clientState, type ClientStateInput } from "../../shared/client-state.js";
import type { XmlRpcValue } from "../../shared/xmlrpc/types.js";
import type { Context } from "../context.js";
import { CLIENT_SORTS, listClients, type ClientSort } from "../store/client-list.js";
import { CLIENT_STATE_ATTRIBUTES } from "../../shared/client-state.js";
import { describeClients } from "../store/client-view.js";
import { GroupStore, type StoredGroup } from "../store/groups.js";
import { readJobs } from "./jobs.js";
import {
  duration,
  filterFormEnd,
  html,
  kilobytes,
  layout,
  refreshing,
  sortHeaders,
  statusBadge,
  time,
  type Html,
} from "./html.js";

type Row = Record<string, XmlRpcValue | undefined>;

/** A job a blade runs, as the Clients page and a client's page show it. */
export interface RunningFrame {
  id: number;
  name: string;
  /** the root job's name ("" for a root) */
  rootName: string;
  rootId: number;
  user: string;
  /** seconds running, paused time excluded; NaN before the agent confirmed the start */
  seconds: number;
  progress: number;
}

/** The running jobs `ids` with their root's name: two reads, whatever the number of blades. */
export async function runningFrames(ctx: Context, ids: number[]): Promise<Map<number, RunningFrame>> {
  const out = new Map<number, RunningFrame>();
  if (ids.length === 0) return out;
  const jobs = await readJobs(ctx, ids, ["id", "name", "submittedBy", "runTime", "progress", "rootJobId"]);
  const rootIds = [...new Set(jobs.map((j) => Number(j["rootJobId"])).filter((r) => !ids.includes(r)))];
  const roots = rootIds.length === 0 ? [] : await readJobs(ctx, rootIds, ["id", "name", "submittedBy"]);
  const rootRows = new Map(roots.map((r) => [Number(r["id"]), r]));
  for (const j of jobs) {
    const id = Number(j["id"]);
    const rootId = Number(j["rootJobId"]);
    const root = rootId === id ? undefined : rootRows.get(rootId);
    out.set(id, {
      id,
      name: String(j["name"] ?? ""),
      rootName: root === undefined ? "" : String(root["name"] ?? ""),
      rootId,
      user: String(j["submittedBy"] || root?.["submittedBy"] || ""),
      seconds: typeof j["runTime"] === "number" ? j["runTime"] : NaN,
      progress: typeof j["progress"] === "number" ? j["progress"] : 0,
    });
  }
  return out;
}

/** "shot 090 · f12 · anna · 1m 20s · 45%", each part a link where it has a page. */
export function runningFrame(f: RunningFrame | undefined, id: number): Html {
  if (f === undefined) return html`<div class="run"><a href="/jobs/${id}">${id}</a></div>`;
  return html`<div class="run" data-job="${f.id}">
    ${f.rootName === "" ? "" : html`<a href="/jobs/${f.rootId}">${f.rootName}</a> · `}<a href="/jobs/${f.id}"
      >${f.name || f.id}</a
    >
    · <span class="user">${f.user || "–"}</span> · <span class="elapsed">${duration(f.seconds)}</span> ·
    <span class="pct">${Math.round(f.progress * 100)}%</span>
  </div>`;
}

const MAX_TEXT = 200;

/** Rows per page: a 10,000-blade farm renders (and reads the running frames of) one page at a time. */
const PAGE_SIZE = 100;

export interface ClientQuery {
  name: string;
  state: string;
  group: string;
  sort: ClientSort;
  desc: boolean;
  page: number;
}

export function readClientQuery(params: URLSearchParams): ClientQuery {
  const sort = params.get("sort") ?? "name";
  return {
    name: (params.get("name") ?? "").trim().slice(0, MAX_TEXT),
    state: (params.get("state") ?? "").slice(0, MAX_TEXT),
    group: (params.get("group") ?? "").slice(0, MAX_TEXT),
    sort: CLIENT_SORTS.find((s) => s === sort) ?? "name",
    desc: params.get("dir") === "desc",
    page: Math.max(1, Math.trunc(Number(params.get("page") ?? "1")) || 1),
  };
}

function clientsUrl(q: ClientQuery, change: Partial<ClientQuery> = {}): string {
  const next = { ...q, ...change };
  const p = new URLSearchParams();
  if (next.name) p.set("name", next.name);
  if (next.state) p.set("state", next.state);
  if (next.group) p.set("group", next.group);
  if (next.sort !== "name") p.set("sort", next.sort);
  if (next.desc) p.set("dir", "desc");
  if (next.page > 1) p.set("page", String(next.page));
  const s = p.toString();
  return s === "" ? "/clients" : `/clients?${s}`;
}

function labelOf(c: Row): string {
  return String(c["label"] ?? c["hostname"] ?? c["id"]);
}

function stateOf(c: Row): string {
  return clientState(c as ClientStateInput);
}

function running(c: Row): number[] {
  return Array.isArray(c["runningJobs"]) ? (c["runningJobs"] as number[]) : [];
}

const COLUMNS: [string, ClientSort | null][] = [
  ["Client", "name"],
  ["State", "state"],
  ["Platform", null],
  ["CPUs", "cpus"],
  ["Load", "load"],
  ["Memory", "memory"],
  ["GPUs", null],
  ["Idle", null],
  ["Running", "jobs"],
  ["Groups", null],
  ["Heartbeat", null],
  ["Note", null],
];

function gpus(c: Row): string {
  const models = Array.isArray(c["gpuModels"]) ? (c["gpuModels"] as XmlRpcValue[]).map(String) : [];
  return models.length === 0 ? "" : models.join(", ");
}

/** The attributes a row shows (store/client-view.ts), read for the page's clients only. */
const ROW_ATTRIBUTES = [
  "id",
  "label",
  "hostname",
  "platform",
  "cpus",
  "load",
  "memory",
  "gpuModels",
  "idleTime",
  "runningJobs",
  "groups",
  "lastHeartbeat",
  "connected",
  "disconnectedSince",
  "latestNote",
  ...CLIENT_STATE_ATTRIBUTES,
];

async function groupList(ctx: Context): Promise<StoredGroup[]> {
  const groups = new GroupStore(ctx);
  return (await groups.read(await groups.ids(), false)).filter((g): g is StoredGroup => g !== null);
}

export async function clientsTable(ctx: Context, q: ClientQuery): Promise<Html> {
  const groups = await groupList(ctx);
  const groupNames = new Map(groups.map((g) => [g.id, g.name]));
  const groupId = q.group === "" ? null : (groups.find((g) => g.name === q.group)?.id ?? -1);
  const query = { name: q.name, state: q.state, groupId, sort: q.sort, desc: q.desc };
  const at = (page: number) =>
    listClients(
      ctx.redis,
      ctx.keys,
      { ...query, offset: (page - 1) * PAGE_SIZE, count: PAGE_SIZE },
      Date.now(),
      ctx.settings.heartbeatIntervalMs,
    );
  let list = await at(q.page);
  const pages = Math.max(1, Math.ceil(list.total / PAGE_SIZE));
  const page = Math.min(q.page, pages);
  // A page past the end shows the last.
  if (page !== q.page) list = await at(page);
  const rows: Row[] = await describeClients(ctx, list.ids, ROW_ATTRIBUTES);
  const frames = await runningFrames(ctx, rows.flatMap(running));
  return refreshing(
    "clients-table",
    clientsUrl(q),
    html`<p class="muted clients-count">
        ${list.total} of ${list.registered} clients${pages > 1 ? html` · page ${page} of ${pages}` : ""}
        ${page > 1 ? html`<a href="${clientsUrl(q, { page: page - 1 })}">‹ prev</a>` : ""}
        ${page < pages ? html`<a href="${clientsUrl(q, { page: page + 1 })}">next ›</a>` : ""}
      </p>
      <table class="grid">
        <thead>
          <tr>
            <th><input type="checkbox" class="select-clients" title="select all shown" /></th>
            ${sortHeaders(
              COLUMNS,
              q,
              (sort, desc, text) => html`<a href="${clientsUrl(q, { sort, desc, page: 1 })}">${text}</a>`,
            )}
          </tr>
        </thead>
        <tbody>
          ${
            rows.length === 0
              ? html`<tr>
                  <td colspan="13" class="empty">
                    ${list.registered === 0 ? "No clients have connected yet." : "No clients match."}
                  </td>
                </tr>`
              : rows.map((c) => {
                  const id = Number(c["id"]);
                  const label = labelOf(c);
                  const inGroups = Array.isArray(c["groups"]) ? (c["groups"] as number[]) : [];
                  const idle =
                    typeof c["idleTime"] === "number" && c["idleTime"] >= 0
                      ? duration(c["idleTime"] * 60)
                      : "–";
                  return html`<tr data-client="${id}" data-label="${label}" data-state="${stateOf(c)}">
                    <td><input type="checkbox" class="csel" data-label="${label}" data-id="${id}" /></td>
                    <td><a href="/clients/${id}">${label}</a></td>
                    <td>${statusBadge(stateOf(c))}</td>
                    <td>${String(c["platform"] ?? "")}</td>
                    <td class="num">${String(c["cpus"] ?? "")}</td>
                    <td class="num">${typeof c["load"] === "number" ? c["load"].toFixed(2) : "–"}</td>
                    <td class="num">${kilobytes(c["memory"])}</td>
                    <td>${gpus(c)}</td>
                    <td class="num">${idle}</td>
                    <td class="running">${running(c).map((j) => runningFrame(frames.get(j), j))}</td>
                    <td>
                      ${inGroups.map((g) => html`<a href="/groups#group-${g}">${groupNames.get(g) ?? g}</a> `)}
                    </td>
                    <td>
                      ${time(c["lastHeartbeat"])}
                      ${c["connected"] === false && c["disconnectedSince"] ? html`<br /><span class="muted">disconnected since ${time(c["disconnectedSince"])}</span>` : ""}
                    </td>
                    <td class="note">${String(c["latestNote"] ?? "")}</td>
                  </tr>`;
                })
          }
        </tbody>
      </table>`,
  );
}

export async function clientsPage(ctx: Context, q: ClientQuery): Promise<Html> {
  const groups = await groupList(ctx);
  return layout(
    "Clients",
    "/clients",
    html`<h1>Clients</h1>
      <form class="filters" method="get" action="/clients">
        <label>Name <input name="name" value="${q.name}" placeholder="contains…" /></label>
        <label
          >State
          <select name="state">
            <option value="">any</option>
            ${CLIENT_STATES.map((s) => html`<option value="${s}" ${s === q.state ? "selected" : ""}>${s}</option>`)}
          </select></label
        >
        <label
          >Group
          <select name="group">
            <option value="">any</option>
            ${groups.map((g) => {
              const name = g.name;
              return html`<option value="${name}" ${name === q.group ? "selected" : ""}>${name}</option>`;
            })}
          </select></label
        >
        ${filterFormEnd(q, "name")}
      </form>
      <div class="client-bulk">
        <span class="client-count">0 selected</span>
        <button type="button" class="client-action" data-action="disable">Disable</button>
        <button type="button" class="client-action" data-action="enable">Enable</button>
        <label
          >Group
          <select class="client-group">
            ${groups.map((g) => html`<option value="${g.id}">${g.name}</option>`)}
          </select></label
        >
        <button type="button" class="client-action" data-action="group">Add to group</button>
      </div>
      ${await clientsTable(ctx, q)}`,
  );
}
