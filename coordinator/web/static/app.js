/* global document, window, location, fetch, DOMParser, WebSocket, confirm, setTimeout, clearTimeout, htmx -- browser script */
// openhq dashboard behaviour, no build step. Buttons and forms call the coordinator's public XML-RPC API
// (POST /RPC2) from the browser, so the dashboard can do exactly what a script can, under the same access
// control. The job page follows its output over a WebSocket (/ws/output/<id>).
"use strict";

// ---- XML-RPC ------------------------------------------------------------------------------------------
function xmlEscape(s) {
  return String(s).replace(/[&<>]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;" })[c]);
}
function encodeValue(v) {
  if (v === null || v === undefined) return "<value><nil/></value>";
  if (typeof v === "boolean") return `<value><boolean>${v ? 1 : 0}</boolean></value>`;
  if (typeof v === "number")
    return Number.isInteger(v) ? `<value><int>${v}</int></value>` : `<value><double>${v}</double></value>`;
  if (Array.isArray(v)) return `<value><array><data>${v.map(encodeValue).join("")}</data></array></value>`;
  if (typeof v === "object")
    return `<value><struct>${Object.entries(v)
      .map(([k, x]) => `<member><name>${xmlEscape(k)}</name>${encodeValue(x)}</member>`)
      .join("")}</struct></value>`;
  return `<value><string>${xmlEscape(v)}</string></value>`;
}
function decodeValue(node) {
  const el = node.firstElementChild;
  if (!el) return node.textContent;
  const text = el.textContent;
  switch (el.tagName) {
    case "int":
    case "i4":
    case "i8":
    case "double":
      return Number(text);
    case "boolean":
      return text.trim() === "1";
    case "nil":
      return null;
    case "array":
      return [...el.querySelectorAll(":scope > data > value")].map(decodeValue);
    case "struct": {
      const out = {};
      for (const m of el.querySelectorAll(":scope > member"))
        out[m.querySelector("name").textContent] = decodeValue(m.querySelector(":scope > value"));
      return out;
    }
    default:
      return text;
  }
}
async function rpc(method, params) {
  const body = `<?xml version="1.0"?><methodCall><methodName>${xmlEscape(method)}</methodName><params>${params
    .map((p) => `<param>${encodeValue(p)}</param>`)
    .join("")}</params></methodCall>`;
  const res = await fetch("/RPC2", { method: "POST", headers: { "content-type": "text/xml" }, body });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const doc = new DOMParser().parseFromString(await res.text(), "text/xml");
  const fault = doc.querySelector("fault > value");
  if (fault) throw new Error(decodeValue(fault).faultString || "fault");
  const value = doc.querySelector("params > param > value");
  return value ? decodeValue(value) : null;
}

// ---- feedback -----------------------------------------------------------------------------------------
function flash(message, kind) {
  const el = document.getElementById("flash");
  if (!el) return;
  el.textContent = message;
  el.className = kind || "ok";
  clearTimeout(flash.timer);
  flash.timer = setTimeout(() => {
    el.textContent = "";
    el.className = "";
  }, 5000);
}
async function act(method, params, label) {
  try {
    await rpc(method, params);
    flash(`${label || method}: done`, "ok");
    return true;
  } catch (err) {
    flash(`${label || method}: ${err.message}`, "error");
    return false;
  }
}
function refreshJob(id) {
  for (const part of ["head", "side"])
    if (document.getElementById(`job-${part}`))
      htmx.ajax("GET", `/jobs/${id}/${part}`, { target: `#job-${part}`, swap: "outerHTML" });
}

// Polling tables refresh while "live" is ticked and nobody is typing in them. Open trees stay open: each
// refresh of the jobs table sends their ids (`open=`) and the server renders them expanded.
function autoRefresh() {
  const box = document.getElementById("auto-refresh");
  if (box && !box.checked) return false;
  // Only a field being typed in holds the refresh; a clicked button or checkbox keeps focus but must not.
  const active = document.activeElement;
  return !(
    active &&
    active.matches &&
    active.matches("input:not([type=checkbox]), select, textarea") &&
    active.closest("#jobs-table, #clients-table, #frames")
  );
}
window.autoRefresh = autoRefresh;

function openTrees() {
  return [...document.querySelectorAll("button.toggle[aria-expanded='true']")].map((b) => b.dataset.job);
}
document.addEventListener("htmx:configRequest", (event) => {
  const source = event.detail.elt;
  if (source && source.id === "jobs-table") {
    const open = openTrees();
    if (open.length > 0) event.detail.parameters.open = open.join(",");
  }
});

// ---- row selections (frame table, Clients page) -----------------------------------------------------------
// A selection lives here (not in the DOM) so its table can refresh under it; it survives paging too. `rows`
// selects the rows' checkboxes, `page` the box that ticks every row shown, `counter` the "N selected" text;
// a ticked row's box gives its key (key) and what the selection keeps of it (value).
function rowSelection({ rows, page, counter, key, value }) {
  const selection = new Map();
  const sync = () => {
    for (const box of document.querySelectorAll(rows)) box.checked = selection.has(key(box));
    const count = document.querySelector(counter);
    if (count) count.textContent = `${selection.size} selected`;
  };
  const tick = (box, on) => (on ? selection.set(key(box), value(box)) : selection.delete(key(box)));
  document.addEventListener("htmx:afterSettle", sync);
  document.addEventListener("change", (event) => {
    const box = event.target;
    if (box.matches && box.matches(rows)) {
      tick(box, box.checked);
      sync();
    } else if (box.matches && box.matches(page)) {
      for (const b of document.querySelectorAll(rows)) tick(b, box.checked);
      sync();
    }
  });
  return selection;
}

// ---- frame table selection ------------------------------------------------------------------------------
// Frame ids (as text) -> the same.
const selected = rowSelection({
  rows: "#frames input.sel",
  page: "#frames input.select-page",
  counter: "#frames .bulk-count",
  key: (box) => box.dataset.id,
  value: (box) => box.dataset.id,
});
function refreshFrames() {
  const frames = document.getElementById("frames");
  if (frames) htmx.ajax("GET", frames.getAttribute("hx-get"), { target: "#frames", swap: "outerHTML" });
}
async function bulk(button) {
  const method = button.dataset.method;
  const ids = [...selected.keys()].map(Number);
  if (ids.length === 0) {
    flash("select frames first", "error");
    return;
  }
  const label = `${button.textContent.trim()} ${ids.length} job${ids.length === 1 ? "" : "s"}`;
  if (method === "cancelJobs" && !confirm(`${label}?`)) return;
  const params =
    method === "setJobPriority"
      ? [ids, Number(document.querySelector("#frames .bulk-priority").value)]
      : [ids];
  if (await act(method, params, label)) {
    selected.clear();
    refreshFrames();
  }
}
async function rescheduleFailed(button) {
  const res = await fetch(`/jobs/${button.dataset.parent}/frames.json?status=failed,abandoned`);
  const { ids } = await res.json();
  if (ids.length === 0) {
    flash("no failed frames", "ok");
    return;
  }
  if (await act("rescheduleJobs", [ids], `reschedule ${ids.length} failed frames`)) refreshFrames();
}

// ---- client selection (Clients page) --------------------------------------------------------------------
// Labels of the selected clients -> their ids.
const selectedClients = rowSelection({
  rows: "#clients-table input.csel",
  page: "#clients-table input.select-clients",
  counter: ".client-bulk .client-count",
  key: (box) => box.dataset.label,
  value: (box) => Number(box.dataset.id),
});
async function clientBulk(button) {
  const action = button.dataset.action;
  const clients = [...selectedClients.entries()];
  if (clients.length === 0) {
    flash("select clients first", "error");
    return;
  }
  const group = document.querySelector(".client-bulk .client-group");
  if (action === "group" && (!group || group.value === "")) {
    flash("no group to add to: create one on the Groups page", "error");
    return;
  }
  const failed = [];
  for (const [label, id] of clients) {
    try {
      if (action === "group") await rpc("addClientToGroup", [Number(group.value), id]);
      else await rpc("setdisabled", [label, action === "disable"]);
    } catch (err) {
      failed.push(`${label}: ${err.message}`);
    }
  }
  const what = `${button.textContent.trim()} ${clients.length} client${clients.length === 1 ? "" : "s"}`;
  if (failed.length > 0) flash(`${what}: ${failed.join("; ")}`, "error");
  else flash(`${what}: done`, "ok");
  selectedClients.clear();
  const table = document.getElementById("clients-table");
  if (table) htmx.ajax("GET", table.getAttribute("hx-get"), { target: "#clients-table", swap: "outerHTML" });
}

// ---- job selection (jobs list) ---------------------------------------------------------------------------
// Ids ticked in the list, kept across its refreshes and pages; shift-click ticks (or unticks) the range from
// the last box clicked. "Select all matching" takes every job the filter matches (/jobs.json).
const selectedJobs = new Set();
let lastJobBox = null;
function syncJobs() {
  for (const box of document.querySelectorAll("#jobs-table input.jsel"))
    box.checked = selectedJobs.has(box.dataset.id);
  const count = document.querySelector(".job-bulk .job-count");
  if (count) count.textContent = `${selectedJobs.size} selected`;
  const all = document.querySelector("#jobs-table input.select-jobs");
  const boxes = [...document.querySelectorAll("#jobs-table input.jsel")];
  if (all) all.checked = boxes.length > 0 && boxes.every((b) => b.checked);
}
document.addEventListener("htmx:afterSettle", syncJobs);
function pickJob(box, on) {
  box.checked = on;
  if (on) selectedJobs.add(box.dataset.id);
  else selectedJobs.delete(box.dataset.id);
}
document.addEventListener("click", (event) => {
  const box = event.target;
  if (!(box.matches && box.matches("#jobs-table input.jsel"))) return;
  const boxes = [...document.querySelectorAll("#jobs-table input.jsel")];
  const from = lastJobBox ? boxes.findIndex((b) => b.dataset.id === lastJobBox) : -1;
  const to = boxes.indexOf(box);
  if (event.shiftKey && from >= 0 && to >= 0)
    for (const b of boxes.slice(Math.min(from, to), Math.max(from, to) + 1)) pickJob(b, box.checked);
  else pickJob(box, box.checked);
  lastJobBox = box.dataset.id;
  syncJobs();
});
document.addEventListener("change", (event) => {
  const box = event.target;
  if (!(box.matches && box.matches("#jobs-table input.select-jobs"))) return;
  for (const b of document.querySelectorAll("#jobs-table input.jsel")) pickJob(b, box.checked);
  syncJobs();
});
async function selectMatching(bar) {
  const res = await fetch(`/jobs.json?${bar.dataset.query}`);
  if (!res.ok) {
    flash(`select all matching: HTTP ${res.status}`, "error");
    return;
  }
  const { ids, total, complete } = await res.json();
  for (const id of ids) selectedJobs.add(String(id));
  syncJobs();
  if (ids.length < total) flash(`selected the first ${ids.length} of ${total} matching jobs`, "error");
  else if (complete === false)
    flash(`selected the ${ids.length} matching jobs found: the filter's scan stopped at its bound`, "error");
}
function refreshJobsTable() {
  const table = document.getElementById("jobs-table");
  if (table) htmx.ajax("GET", table.getAttribute("hx-get"), { target: "#jobs-table", swap: "outerHTML" });
}
/** Ids per call: each call is one chunked store operation, and the bar shows progress between calls. */
const JOB_CHUNK = 500;
async function jobBulk(button) {
  const bar = button.closest(".job-bulk");
  const method = button.dataset.method;
  const ids = [...selectedJobs].map(Number);
  const name = button.textContent.trim();
  if (ids.length === 0) {
    flash("select jobs first", "error");
    return;
  }
  const label = `${name} ${ids.length} job${ids.length === 1 ? "" : "s"}`;
  if (method === "cancelJobs" && !confirm(`${label}?`)) return;
  const priority = Number(bar.querySelector(".job-priority").value);
  const progress = bar.querySelector(".job-progress");
  const failed = [];
  let done = 0;
  for (let at = 0; at < ids.length; at += JOB_CHUNK) {
    const chunk = ids.slice(at, at + JOB_CHUNK);
    try {
      await rpc(method, method === "setJobPriority" ? [chunk, priority] : [chunk]);
      done += chunk.length;
    } catch (err) {
      failed.push(err.message);
    }
    progress.textContent = `${name}: ${Math.min(at + JOB_CHUNK, ids.length)} of ${ids.length}`;
  }
  progress.textContent = "";
  if (failed.length > 0) flash(`${label}: ${done} done; ${failed.join("; ")}`, "error");
  else flash(`${label}: done`, "ok");
  selectedJobs.clear();
  syncJobs();
  refreshJobsTable();
}

// ---- clicks -------------------------------------------------------------------------------------------
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button");
  if (!button) return;
  if (button.classList.contains("bulk-action")) return bulk(button);
  if (button.classList.contains("client-action")) return clientBulk(button);
  if (button.classList.contains("job-action")) return jobBulk(button);
  if (button.classList.contains("select-matching")) return selectMatching(button.closest(".job-bulk"));
  if (button.classList.contains("clear-jobs")) {
    selectedJobs.clear();
    return syncJobs();
  }
  if (button.classList.contains("reschedule-failed")) return rescheduleFailed(button);
  if (button.classList.contains("toggle")) {
    const row = button.closest("tr");
    const id = button.dataset.job;
    const depth = Number(row.dataset.depth || 0);
    if (button.getAttribute("aria-expanded") === "true") {
      let next = row.nextElementSibling;
      while (next && Number(next.dataset.depth || 0) > depth) {
        const gone = next;
        next = next.nextElementSibling;
        gone.remove();
      }
      button.setAttribute("aria-expanded", "false");
      button.textContent = "▸";
    } else {
      button.setAttribute("aria-expanded", "true");
      button.textContent = "▾";
      const open = openTrees().join(",");
      const res = await fetch(`/jobs/${id}/children?depth=${depth + 1}&open=${open}`, {
        headers: { "HX-Request": "true" },
      });
      const tmp = document.createElement("tbody");
      tmp.innerHTML = await res.text();
      row.after(...tmp.children);
      localiseTimes(row.parentElement);
    }
    return;
  }
  if (button.classList.contains("action")) {
    const id = Number(button.closest(".actions").dataset.job);
    const method = button.dataset.method;
    if ((method === "deleteJobs" || method === "cancelJobs") && !confirm(`${button.textContent} job ${id}?`))
      return;
    if (await act(method, [[id]], `${button.textContent} job ${id}`)) {
      if (method === "deleteJobs") location.href = "/jobs";
      else refreshJob(id);
    }
    return;
  }
  if (button.classList.contains("rpc")) {
    if (button.dataset.confirm && !confirm(button.dataset.confirm)) return;
    if (
      await act(button.dataset.method, JSON.parse(button.dataset.params || "[]"), button.textContent.trim())
    )
      setTimeout(
        () => (button.dataset.then ? (location.href = button.dataset.then) : location.reload()),
        300,
      );
  }
});

// ---- forms --------------------------------------------------------------------------------------------
function fieldValue(input) {
  if (input.type === "checkbox") return input.checked;
  if (input.type === "number") return Number(input.value);
  return input.value;
}
// A form's JSON field (empty: []), or undefined once the viewer is told it is not JSON.
function jsonField(form, name) {
  try {
    return JSON.parse(form.elements[name].value || "[]");
  } catch (err) {
    flash(`${name}: not JSON (${err.message})`, "error");
    return undefined;
  }
}

document.addEventListener("submit", async (event) => {
  const form = event.target;
  const done = () => setTimeout(() => location.reload(), 300);
  if (form.matches(".filters, .search")) return; // a normal GET
  event.preventDefault();
  if (form.matches(".note-form")) {
    const text = form.elements.text.value;
    const job = form.dataset.job ? Number(form.dataset.job) : null;
    const client = form.dataset.client ? Number(form.dataset.client) : null;
    if (await act("addNote", [text, null, job, client], "note")) done();
  } else if (form.matches(".priority-form")) {
    const id = Number(form.closest(".actions").dataset.job);
    if (await act(form.dataset.method, [[id], Number(form.elements.priority.value)], "priority"))
      refreshJob(id);
  } else if (form.matches(".conditions-form")) {
    const conditions = jsonField(form, "conditions");
    if (conditions === undefined) return;
    if (await act("setJobConditions", [Number(form.dataset.job), conditions], "conditions")) done();
  } else if (form.matches(".permitted-form")) {
    const clients = form.elements.clients.value.split(/[\s,]+/).filter((c) => c !== "");
    if (await act("savePermittedClientsList", [Number(form.dataset.job), clients], "permitted clients"))
      done();
  } else if (form.matches(".share-edit")) {
    // setShare(name, {weight, guarantee, burst, users}): burst is slots or "N%" (empty: none), users a list.
    const f = form.elements;
    const name = form.dataset.share || f.name.value.trim();
    const fields = {
      weight: Number(f.weight.value),
      guarantee: Number(f.guarantee.value || 0),
      burst: f.burst.value.trim(),
      users: f.users.value,
    };
    if (await act("setShare", [name, fields], `share ${name}`)) done();
  } else if (form.matches(".rpc-form")) {
    const params = [...form.querySelectorAll("[name]")]
      .sort((a, b) => Number(a.name) - Number(b.name))
      .map(fieldValue);
    if (await act(form.dataset.method, params)) done();
  } else if (form.matches(".add-member")) {
    if (
      await act(
        "addClientToGroup",
        [Number(form.dataset.group), Number(form.elements.client.value)],
        "add client",
      )
    )
      done();
  } else if (form.matches(".resource-edit")) {
    const f = form.elements;
    const params = [Number(form.dataset.id), Number(f.amount.value), f.perMachine.checked, f.name.value];
    if (await act("setResource", params, "resource")) done();
  } else if (form.matches(".rules-form")) {
    const rules = jsonField(form, "rules");
    if (rules === undefined) return;
    if (await act(form.dataset.method, [Number(form.dataset.client), rules], "availability rules")) done();
  }
});

// ---- times in the viewer's time zone ----------------------------------------------------------------------
// The server writes UTC ("… UTC"); here each <time> becomes local time with the zone's short name.
const localTime = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hour12: false,
  timeZoneName: "short",
});
function localiseTimes(root) {
  for (const el of (root || document).querySelectorAll("time[datetime]:not([data-local])")) {
    const date = new Date(el.getAttribute("datetime"));
    if (Number.isNaN(date.getTime())) continue;
    el.textContent = localTime.format(date);
    el.title = el.getAttribute("datetime");
    el.dataset.local = "1";
  }
}
document.addEventListener("htmx:afterSettle", () => localiseTimes(document));
document.addEventListener("DOMContentLoaded", () => localiseTimes(document));

// ---- live output --------------------------------------------------------------------------------------
const MAX_OUTPUT_CHARS = 2_000_000;
function followOutput(pre) {
  const id = pre.dataset.job;
  const state = document.getElementById("output-state");
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${proto}//${location.host}/ws/output/${id}?tail=1048576`);
  let ended = false;
  socket.onopen = () => {
    state.textContent = "live";
  };
  socket.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (event.type === "output") {
      const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.append(event.data);
      if (pre.textContent.length > MAX_OUTPUT_CHARS)
        pre.textContent = pre.textContent.slice(-MAX_OUTPUT_CHARS / 2);
      if (atBottom) pre.scrollTop = pre.scrollHeight;
    } else if (event.type === "reset") {
      pre.textContent = "";
    } else if (event.type === "status") {
      state.textContent = `live · ${event.status}`;
      refreshJob(id);
    } else if (event.type === "end") {
      ended = true;
      state.textContent = `finished · ${event.status}`;
    } else if (event.type === "error") {
      ended = true;
      state.textContent = event.message;
    }
  };
  socket.onclose = () => {
    if (ended) return;
    state.textContent = "disconnected, retrying…";
    setTimeout(() => {
      pre.textContent = "";
      followOutput(pre);
    }, 2000);
  };
}
document.addEventListener("DOMContentLoaded", () => {
  const pre = document.getElementById("output");
  if (pre) followOutput(pre);
});
