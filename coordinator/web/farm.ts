// The farm pages: clients (list and one client), groups, resources and the server error log. Read through
// the store's views, which the API answers with too (store/client-view.ts, blade-view.ts, job-view.ts); edits
// are XML-RPC calls made by the page's buttons (static/app.js).

import { clientState, type ClientStateInput } from "../../shared/client-state.js";
import type { CallContext, XmlRpcValue } from "../../shared/xmlrpc/types.js";
import type { Context } from "../context.js";
import { NotFound } from "../refusal.js";
import { clientAttemptsView, clientHealthView } from "../store/blade-view.js";
import { CLIENT_ATTRIBUTES, describeClients } from "../store/client-view.js";
import { allClientIds, jobHistory } from "../store/clients.js";
import { clientErrors, errorLogView, serverErrors } from "../store/errors.js";
import { GroupStore } from "../store/groups.js";
import { readJobViews } from "../store/job-view.js";
import { JobStore } from "../store/jobs.js";
import { ResourceStore } from "../store/resources.js";
import {
  attrTable,
  duration,
  gridTable,
  rpcButton,
  html,
  layout,
  statusBadge,
  unitValue,
  value,
  type Html,
} from "./html.js";
import { notesSection } from "./jobs.js";
import { runningFrame, runningFrames } from "./clients.js";

type Row = Record<string, XmlRpcValue | undefined>;

/** The shared definition (shared/client-state.ts) over a getClients row. */
function stateOf(c: Row): string {
  return clientState(c as ClientStateInput);
}

function rules(list: XmlRpcValue | undefined): Html {
  if (!Array.isArray(list) || list.length === 0) return html`<span class="muted">always</span>`;
  return html`${list.map((r) => {
    if (!r || typeof r !== "object" || Array.isArray(r)) return html`<code>${JSON.stringify(r)}</code> `;
    const rule = r as Row;
    if (rule["type"] === "idle") return html`<span class="rule">idle ≥ ${String(rule["minutes"])}m</span> `;
    if (rule["type"] === "window") {
      const days =
        Array.isArray(rule["days"]) && rule["days"].length > 0 ? ` days ${rule["days"].join(",")}` : "";
      return html`<span class="rule">${String(rule["start"])}–${String(rule["end"])}${days}</span> `;
    }
    return html`<span class="rule">${String(rule["type"] ?? JSON.stringify(rule))}</span> `;
  })}`;
}

/** One rule per line: easy to read and edit in the textarea. */
function ruleLines(list: XmlRpcValue | undefined): string {
  const items = Array.isArray(list) ? list : [];
  return items.length === 0 ? "[]" : `[\n${items.map((r) => `  ${JSON.stringify(r)}`).join(",\n")}\n]`;
}

export async function clientPage(ctx: Context, caller: CallContext, id: number, chart: Html): Promise<Html> {
  const [client] = await describeClients(ctx, [id], [...CLIENT_ATTRIBUTES]);
  if (client === undefined) throw new NotFound(`client ${id} does not exist`);
  const [groups, history, errors, health, attempts] = await Promise.all([
    new GroupStore(ctx).all(false),
    jobHistory(ctx, id, 20),
    clientErrors(ctx, id).then(errorLogView),
    clientHealthView(ctx, id),
    clientAttemptsView(ctx, id, 50),
  ]);
  const label = String(client["label"] ?? client["hostname"] ?? id);
  const runningIds = Array.isArray(client["runningJobs"]) ? (client["runningJobs"] as number[]) : [];
  const [frames, recent] = await Promise.all([
    runningFrames(ctx, runningIds),
    history.length === 0
      ? Promise.resolve<(Row | null)[]>([])
      : readJobViews(new JobStore(ctx), history, ["id", "name", "status", "submittedBy", "endTime"], caller),
  ]);
  const member = new Set(Array.isArray(client["groups"]) ? (client["groups"] as number[]) : []);
  const errorList = Array.isArray(errors["errors"]) ? (errors["errors"] as Row[]) : [];
  const body = html`<h1>Client ${label} ${statusBadge(stateOf(client))}</h1>
    <h2>Running</h2>
    <div class="running" id="client-running">
      ${runningIds.length === 0 ? html`<span class="muted">nothing</span>` : runningIds.map((j) => runningFrame(frames.get(j), j))}
    </div>
    <div class="charts">${chart}</div>
    <div class="columns">
      ${attrTable(client, Object.keys(client).sort(), (k, v) =>
        k === "availabilityRules" ? rules(v) : unitValue(k, v),
      )}
      <div>
        <h2>Groups</h2>
        <ul class="plain">
          ${groups.map((g) => {
            const gid = g.id;
            const method = member.has(gid) ? "removeClientFromGroup" : "addClientToGroup";
            return html`<li>
              ${member.has(gid) ? "✔" : "–"} ${g.name}
              ${rpcButton(member.has(gid) ? "remove" : "add", method, [gid, id], { look: "small" })}
            </li>`;
          })}
        </ul>
        <h2>Availability rules</h2>
        <form class="rules-form" data-method="setAvailabilityRules" data-client="${id}">
          <textarea name="rules" rows="5" spellcheck="false">
${ruleLines(client["availabilityRules"])}</textarea>
          <p class="muted">
            JSON list: {"type":"window","days":[1,2,3,4,5],"start":"19:00","end":"07:00"},
            {"type":"idle","minutes":15}, {"type":"anytime"}; empty = always available.
          </p>
          <button type="submit">Save rules</button>
        </form>
        <p>
          ${rpcButton(`${client["disabled"] ? "Enable" : "Disable"} client`, "setdisabled", [label, !client["disabled"]])}
          ${rpcButton("Upgrade agent", "upgradeClients", [[id]], { confirm: `Upgrade ${label}? It finishes its running jobs, then restarts on the installed code.` })}
          ${
            client["upgradeState"]
              ? html`<span class="muted upgrade-state">last upgrade: ${String(client["upgradeState"])}</span>`
              : ""
          }
          ${rpcButton("Remove machine", "removeClients", [[id]], { look: "danger", confirm: `Remove ${label} from the farm for good? Its running frames go back to the queue, its agent is shut out; it can only come back as a new machine.`, then: "/clients" })}
        </p>
        ${healthSection(id, health)}
        <h2>Recent jobs</h2>
        <ul class="plain" id="recent-jobs">
          ${
            recent.length === 0
              ? html`<li class="muted">none</li>`
              : recent
                  .filter((j): j is Row => j !== null)
                  .map(
                    (j) =>
                      html`<li>
                        <a href="/jobs/${String(j["id"])}">${String(j["id"])} ${String(j["name"] ?? "")}</a>
                        ${statusBadge(j["status"])}
                        <span class="muted">${String(j["submittedBy"] ?? "")}</span>
                      </li>`,
                  )
          }
        </ul>
        <h2>Errors</h2>
        <ul class="plain">
          ${errorList.length === 0 ? html`<li class="muted">none</li>` : errorList.slice(0, 50).map((e) => html`<li>${value(e["time"] ?? e["date"])} ${String(e["message"] ?? JSON.stringify(e))}</li>`)}
        </ul>
      </div>
    </div>
    ${attemptsTable(attempts)} ${await notesSection(ctx, { clientId: id }, client["threadId"])}`;
  return layout(`Client ${label}`, "/clients", body);
}

/** Quarantine (with its reason and a release button) and the job trees the blade is blocklisted for. */
function healthSection(id: number, health: Row): Html {
  const reason = (health["reason"] ?? null) as Row | null;
  const failures = reason && Array.isArray(reason["failures"]) ? (reason["failures"] as Row[]) : [];
  const blocked = Array.isArray(health["blockedJobs"]) ? (health["blockedJobs"] as Row[]) : [];
  const quarantine =
    health["quarantined"] === true || health["probation"] === true
      ? html`<p>
            ${
              health["quarantined"] === true
                ? html`Quarantined until ${value(health["quarantinedUntil"])}`
                : html`On probation: one frame at a time until one succeeds`
            }:
            ${String(reason?.["why"] ?? "")} ${rpcButton("Release", "releaseClient", [id], { look: "small" })}
          </p>
          <ul class="plain">
            ${failures.map(
              (f) =>
                html`<li>
                  <a href="/jobs/${String(f["job"])}">job ${String(f["job"])}</a> ${String(f["why"] ?? "")}
                  <code>${String(f["last"] ?? "")}</code>
                </li>`,
            )}
          </ul>`
      : html`<p class="muted">not quarantined</p>`;
  return html`<h2>Health</h2>
    ${quarantine}
    <p>
      Blocklisted for:
      ${
        blocked.length === 0
          ? html`<span class="muted">no job</span>`
          : blocked.map(
              (b) =>
                html`<a href="/jobs/${String(b["jobId"])}">${String(b["jobId"])}</a>
                  ${rpcButton("clear", "clearJobBlocklist", [b["jobId"], id], { look: "small" })} `,
            )
      }
    </p>`;
}

/** The blade's history: its recent attempts and its blocklisting, quarantine and release events. */
function attemptsTable(attempts: Row[]): Html {
  return html`<h2>Blade history</h2>
    ${gridTable(
      ["Time", "Job", "Result", "Exit", "Duration"],
      attempts.map(
        (a) =>
          html`<tr>
            <td>${value(a["t"])}</td>
            <td>
              ${
                a["job"] === undefined
                  ? ""
                  : html`<a href="/jobs/${String(a["job"])}">${String(a["job"])}</a>
                      ${String(a["name"] ?? "")}`
              }
            </td>
            <td>
              ${a["event"] === undefined ? statusBadge(String(a["result"] ?? "")) : html`<b>${String(a["event"])}</b> ${String(a["why"] ?? "")}`}
            </td>
            <td>${String(a["exit"] ?? a["signal"] ?? "")}</td>
            <td>${typeof a["ms"] === "number" ? duration(a["ms"] / 1000) : ""}</td>
          </tr>`,
      ),
      "No attempts yet.",
    )}`;
}

export async function groupsPage(ctx: Context): Promise<Html> {
  const [groups, clients] = await Promise.all([
    new GroupStore(ctx).all(true),
    allClientIds(ctx).then((ids) => describeClients(ctx, ids, ["id", "label"])),
  ]);
  const labels = new Map(clients.map((c) => [Number(c["id"]), String(c["label"] ?? c["id"])]));
  const body = html`<h1>Client groups</h1>
    <form class="rpc-form" data-method="createClientGroup">
      <input name="0" placeholder="new group name" required /><button type="submit">Create group</button>
    </form>
    ${gridTable(
      ["ID", "Group", "Clients", "Add a client", ""],
      groups.map((g) => {
        const gid = g.id;
        const members = g.clients ?? [];
        const others = clients.filter((c) => !members.includes(Number(c["id"])));
        return html`<tr id="group-${gid}">
          <td class="num">${gid}</td>
          <td>${g.name}</td>
          <td>
            ${members.map((cid) => html`<span class="chip"><a href="/clients/${cid}">${labels.get(cid) ?? cid}</a> ${rpcButton("×", "removeClientFromGroup", [gid, cid], { look: "small", title: "remove" })}</span> `)}
          </td>
          <td>
            ${
              others.length === 0
                ? ""
                : html`<form class="add-member" data-group="${gid}">
                    <select name="client">
                      ${others.map((c) => html`<option value="${String(c["id"])}">${String(c["label"] ?? c["id"])}</option>`)}</select
                    ><button type="submit" class="small">add</button>
                  </form>`
            }
          </td>
          <td>
            ${rpcButton("delete", "deleteClientGroup", [gid], { look: "danger small", confirm: `Delete group ${g.name}?` })}
          </td>
        </tr>`;
      }),
      "No groups.",
    )}`;
  return layout("Groups", "/groups", body);
}

export async function resourcesPage(ctx: Context): Promise<Html> {
  const resources = await new ResourceStore(ctx).all();
  const body = html`<h1>Resources</h1>
    <p class="muted">
      A job declares {"name": amount}. Per-job resources are held by each running job; per-machine resources
      once per client (licenses).
    </p>
    <form class="rpc-form" data-method="addResource">
      <input name="0" placeholder="name" required />
      <input name="1" type="number" min="0" placeholder="amount" required />
      <label><input name="2" type="checkbox" /> per machine</label>
      <button type="submit">Define resource</button>
    </form>
    ${gridTable(
      ["ID", "Name", "Amount", "Used", "Counted per", "Edit"],
      resources.map((r) => {
        const rid = r.id;
        return html`<tr>
          <td class="num">${rid}</td>
          <td>${r.name}</td>
          <td class="num">${String(r.amount)}</td>
          <td class="num">${String(r.used)}</td>
          <td>${r.perMachine ? "machine" : "job"}</td>
          <td>
            <form class="resource-edit" data-id="${rid}">
              <input name="name" value="${r.name}" size="12" />
              <input name="amount" type="number" min="0" value="${String(r.amount)}" style="width:6em" />
              <label
                ><input name="perMachine" type="checkbox" ${r.perMachine ? html`checked` : ""} /> per
                machine</label
              >
              <button type="submit" class="small">save</button>
              ${rpcButton("remove", "removeResource", [rid], { look: "danger small", confirm: "Remove resource?" })}
            </form>
          </td>
        </tr>`;
      }),
      "No resources defined.",
    )}`;
  return layout("Resources", "/resources", body);
}

export async function errorsPage(ctx: Context): Promise<Html> {
  const result = errorLogView(await serverErrors(ctx));
  const errors = Array.isArray(result["errors"]) ? (result["errors"] as Row[]) : [];
  const body = html`<h1>
      Server errors <span class="muted">(${String(result["total"] ?? errors.length)})</span>
    </h1>
    ${gridTable(
      ["Time", "Method", "Message"],
      errors.slice(0, 200).map(
        (e) =>
          html`<tr>
            <td>${value(e["time"])}</td>
            <td>${String(e["method"] ?? "")}</td>
            <td>
              <details>
                <summary>${String(e["message"] ?? "")}</summary>
                <pre>${String(e["stack"] ?? "")}</pre>
              </details>
            </td>
          </tr>`,
      ),
      "No server errors.",
    )}`;
  return layout("Server errors", "/errors", body);
}
