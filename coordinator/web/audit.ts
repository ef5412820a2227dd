// The dashboard's audit page (/audit): the audit log as getAuditLog reads it (store/audit.ts), with filters (since, user, method,
// id), newest first, a page at a time; and its export (/audit.jsonl: the matching records as JSON lines),
// for admins only (the route checks). Records hold no secrets (masked when recorded).

import type { Context } from "../context.js";
import { readAuditPage, type AuditQuery } from "../store/audit.js";
import { gridTable, html, layout, type Html } from "./html.js";

/** Records in one export. */
export const EXPORT_LIMIT = 1000;
const SINCE_CHOICES: [string, number][] = [
  ["1 hour", 3600],
  ["1 day", 86_400],
  ["1 week", 604_800],
  ["all kept", 0],
];

export interface AuditFilters {
  /** Seconds back from now; 0 = everything kept. */
  within: number;
  user: string;
  method: string;
  id: string;
  before: string;
}

export function readAuditFilters(params: URLSearchParams): AuditFilters {
  const within = Number(params.get("within") ?? "86400");
  return {
    within: SINCE_CHOICES.some(([, s]) => s === within) ? within : 86_400,
    user: (params.get("user") ?? "").slice(0, 256),
    method: (params.get("method") ?? "").slice(0, 256),
    id: /^\d{1,15}$/.test(params.get("id") ?? "") ? (params.get("id") as string) : "",
    before: /^\d{1,20}-\d{1,20}$/.test(params.get("before") ?? "") ? (params.get("before") as string) : "",
  };
}

function query(f: AuditFilters, limit: number): AuditQuery {
  const q: AuditQuery = { limit };
  if (f.within > 0) q.since = (Math.floor(Date.now() / 1000) - f.within) * 1000;
  if (f.user !== "") q.user = f.user;
  if (f.method !== "") q.method = f.method;
  if (f.id !== "") q.id = Number(f.id);
  if (f.before !== "") q.before = f.before;
  return q;
}

function search(f: AuditFilters, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams({
    within: String(f.within),
    user: f.user,
    method: f.method,
    id: f.id,
    ...extra,
  });
  return params.toString();
}

export async function auditPage(ctx: Context, f: AuditFilters, mayExport: boolean): Promise<Html> {
  const answer = await readAuditPage(ctx, query(f, 200));
  const body = html`<h1>Audit log</h1>
    <form class="filters" method="get" action="/audit">
      <label
        >Since
        <select name="within">
          ${SINCE_CHOICES.map(
            ([label, s]) =>
              html`<option value="${String(s)}" ${s === f.within ? html`selected` : ""}>${label}</option>`,
          )}
        </select></label
      >
      <label>User <input name="user" value="${f.user}" placeholder="exact name" /></label>
      <label>Method <input name="method" value="${f.method}" placeholder="e.g. cancelJobs" /></label>
      <label>Id <input name="id" value="${f.id}" placeholder="job or client id" /></label>
      <button type="submit">Filter</button>
      ${mayExport ? html`<a href="/audit.jsonl?${search(f)}" download>Export (JSON lines)</a>` : ""}
    </form>
    ${gridTable(
      ["Time (UTC)", "User", "From", "Method", "Ids", "Arguments", "Outcome"],
      answer.entries.map(
        (e) =>
          html`<tr>
            <td>
              ${String(e["time"] ?? "")
                .replace("T", " ")
                .slice(0, 19)}
            </td>
            <td>${String(e["user"] ?? "")}</td>
            <td>${String(e["address"] ?? "")} <span class="muted">${String(e["via"] ?? "")}</span></td>
            <td>
              ${String(e["method"] ?? "")}
              ${typeof e["agent"] === "string" ? html`<span class="muted">on ${e["agent"]}:5001</span>` : ""}
            </td>
            <td>${Array.isArray(e["ids"]) ? e["ids"].join(", ") : ""}</td>
            <td><code>${JSON.stringify(e["args"] ?? [])}</code></td>
            <td>
              ${e["outcome"] === "ok" ? "ok" : html`fault ${String(e["outcome"])}: ${String(e["fault"] ?? "")}`}
            </td>
          </tr>`,
      ),
      "Nothing recorded that matches.",
      { class: "audit" },
    )}
    ${answer.next !== "" ? html`<p><a href="/audit?${search(f, { before: answer.next })}">Older</a></p>` : ""}`;
  return layout("Audit log", "/audit", body);
}

/** The export: matching records, newest first, one JSON object a line. */
export async function auditExport(ctx: Context, f: AuditFilters): Promise<string> {
  const answer = await readAuditPage(ctx, query(f, EXPORT_LIMIT));
  return answer.entries.map((e) => JSON.stringify(e)).join("\n") + (answer.entries.length > 0 ? "\n" : "");
}
