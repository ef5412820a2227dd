// The read and control commands of `openhq`: each takes the server, its arguments and an output stream,
// prints a table (or JSON with --json) and returns an exit code.

import { agentUrl, HQClient, type HQServer, type Job } from "../shared/client/index.js";
import { followOutput } from "../shared/client/output-stream.js";
import { CLIENT_STATE_ATTRIBUTES, clientState } from "../shared/client-state.js";
import { isFinished, isJobStatus } from "../shared/statuses.js";
import { statusWord, treeCounts } from "../shared/status-words.js";
import { CliError, Exit } from "./exit-codes.js";
import { percent, table, text, toJson, when, writeList } from "./format.js";
import { exitCodeFor } from "./submit.js";
import { noSuchClient, resolveClients } from "./client-names.js";
import { RUN_ATTRIBUTES } from "../shared/run-attributes.js";

export interface Io {
  server: HQServer;
  serverUrl: string;
  json: boolean;
  out: NodeJS.WritableStream;
}

const JOB_COLUMNS = [
  "id",
  "name",
  "status",
  "uiStatus",
  "childCounts",
  "priority",
  "overallProgress",
  "submittedBy",
  "queueTime",
];

/** The status as wranglers read it ("rendering 12 of 300", "waiting"), shared with the dashboard. */
function word(job: Job): string {
  return statusWord(String(job.status ?? ""), String(job.uiStatus ?? ""), treeCounts(job["childCounts"]));
}

export function parseIds(args: string[], command: string): number[] {
  const ids = args.flatMap((a) => a.split(",")).filter((a) => a !== "");
  if (ids.length === 0) throw new CliError(`${command}: give one or more job ids`, Exit.usage);
  return ids.map((a) => {
    const n = Number(a);
    if (!Number.isSafeInteger(n) || n < 0) throw new CliError(`${command}: not a job id: ${a}`, Exit.usage);
    return n;
  });
}

export interface JobFilter {
  statuses: string[];
  all: boolean;
  limit: number;
  /** substring of submittedBy / name, case-insensitive ("" = any) */
  user: string;
  name: string;
}

export async function listJobs(io: Io, filter: JobFilter): Promise<number> {
  const { statuses, all, limit } = filter;
  for (const s of statuses) {
    if (s !== "waiting" && !isJobStatus(s)) throw new CliError(`jobs: unknown status ${s}`, Exit.usage);
  }
  const user = filter.user.toLowerCase();
  const name = filter.name.toLowerCase();
  let ids: number[];
  let searched = "";
  if (all && name !== "" && statuses.length === 0) {
    // Every job, children included: the server's bounded newest-first name scan.
    const found = await io.server.searchJobNames(filter.name);
    ids = found.ids;
    if (found.stoppedAt > 1) searched = ` among the newest ${found.scanned} jobs (older ones not searched)`;
  } else if (statuses.length > 0) ids = await io.server.getJobIdsByStatus(statuses);
  else if (all) {
    const [open, done] = await Promise.all([
      io.server.getUnfinishedRootJobIds(),
      io.server.getFinishedRootJobIds(),
    ]);
    ids = [...open, ...done];
  } else ids = await io.server.getUnfinishedRootJobIds();
  ids = [...new Set(ids)].sort((a, b) => b - a);
  if (user !== "" || name !== "") {
    // Read only the two fields of the candidates, then the rows of the first `limit` matches.
    const keys = (await io.server.getJobs(ids, ["id", "name", "submittedBy"])).filter((j) => j !== null);
    ids = keys
      .filter(
        (j) =>
          String(j.submittedBy ?? "")
            .toLowerCase()
            .includes(user) &&
          String(j.name ?? "")
            .toLowerCase()
            .includes(name),
      )
      .map((j) => Number(j.id));
    if (ids.length === 0) {
      const what = [name && `named *${filter.name}*`, user && `by *${filter.user}*`]
        .filter(Boolean)
        .join(" ");
      const where =
        all || statuses.length > 0 ? "" : " among unfinished root jobs (--all: every job, children included)";
      throw new CliError(`jobs: no job ${what}${where}${searched}`, Exit.fault);
    }
  }
  ids = ids.slice(0, limit);
  const rows = ids.length === 0 ? [] : await io.server.getJobs(ids, JOB_COLUMNS);
  const jobs = rows.filter((j): j is Job => j !== null); // deleted since the ids were read
  if (searched !== "" && !io.json) process.stderr.write(`jobs: matches${searched}\n`);
  writeList(io, jobs, ["ID", "NAME", "STATUS", "PRI", "PROGRESS", "BY", "QUEUED"], (j) => [
    String(j.id),
    String(j.name ?? ""),
    word(j),
    String(j.priority ?? 0),
    percent(j.overallProgress),
    String(j.submittedBy ?? ""),
    when(j.queueTime),
  ]);
  return Exit.ok;
}

/** What a wrangler looks for first in `job ID`, in this order; the other attributes follow A-Z. */
const FIRST_ATTRIBUTES = [
  "id",
  "name",
  "status",
  "uiStatus",
  "waitingFor",
  "overallProgress",
  "progress",
  "priority",
  "submittedBy",
  ...RUN_ATTRIBUTES,
  "attempt",
  "triesLeft",
  "command",
  "parents",
  "children",
];

export async function showJob(io: Io, id: number): Promise<number> {
  const job: Job = await io.server.getJob(id);
  if (io.json) {
    io.out.write(toJson(job));
    return Exit.ok;
  }
  const first = FIRST_ATTRIBUTES.filter((k) => k in job);
  const rest = Object.keys(job)
    .filter((k) => k !== "logs" && !FIRST_ATTRIBUTES.includes(k))
    .sort();
  // HQueue's status, with the word the dashboard shows when that says more ("queued (rendering 3 of 5)").
  const shown = word(job);
  const status = String(job.status ?? "");
  const rows = [...first, ...rest].map((k) => [
    k,
    k === "status" && shown !== status && job["childCounts"] ? `${status} (${shown})` : text(job[k]),
  ]);
  io.out.write(table(["ATTRIBUTE", "VALUE"], rows));
  if (Array.isArray(job.logs) && job.logs.length > 0) {
    io.out.write("\nstatus log:\n");
    for (const entry of job.logs) io.out.write(`  ${when(entry[1])}  ${entry[0]}\n`);
  }
  return Exit.ok;
}

export async function tail(io: Io, id: number, follow: boolean): Promise<number> {
  if (!follow) {
    const output = await io.server.getJobOutput(id);
    io.out.write(io.json ? toJson({ id, output }) : output);
    return Exit.ok;
  }
  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort());
  const status = await followOutput(
    io.serverUrl,
    id,
    (event) => {
      if (event.type === "output") io.out.write(io.json ? toJson(event) : event.data);
      else if (io.json) io.out.write(toJson(event));
      else if (event.type === "reset") io.out.write("\n--- output restarted (new attempt) ---\n");
    },
    { signal: controller.signal },
  );
  if (status === "aborted") return Exit.interrupted;
  if (!io.json) process.stderr.write(`job ${id} ${status}\n`);
  // Like submit --wait: a script can tell a failed job from a finished one.
  return isJobStatus(status) ? exitCodeFor([status]) : Exit.ok;
}

/** Rows printed by `job ID --tree` at most; the rest is summarised. */
const MAX_TREE_ROWS = 2000;

/** `job ID --tree`: the job and its descendants, indented, with status, progress and host. */
export async function showTree(io: Io, id: number): Promise<number> {
  const attribs = [
    "id",
    "name",
    "status",
    "uiStatus",
    "childCounts",
    "overallProgress",
    "clients",
    "children",
  ];
  const rows: { depth: number; job: Job }[] = [];
  let more = 0;
  const visit = async (ids: number[], depth: number): Promise<void> => {
    const jobs = (await io.server.getJobs(ids, attribs)).filter((j): j is Job => j !== null);
    for (const job of jobs) {
      if (rows.length >= MAX_TREE_ROWS) {
        more += 1 + (job.children?.length ?? 0);
        continue;
      }
      rows.push({ depth, job });
      if ((job.children?.length ?? 0) > 0) await visit(job.children ?? [], depth + 1);
    }
  };
  await visit([id], 0);
  const labels = new Map(
    (await io.server.getClients(null, ["id", "label"])).map((c) => [c.id, String(c.label ?? "")]),
  );
  if (rows.length === 0) throw new CliError(`job ${id} does not exist`, Exit.fault);
  if (io.json) {
    io.out.write(toJson(rows.map((r) => ({ depth: r.depth, ...r.job }))));
    return Exit.ok;
  }
  io.out.write(
    table(
      ["ID", "NAME", "STATUS", "PROGRESS", "HOST"],
      rows.map(({ depth, job }) => [
        `${"  ".repeat(depth)}${job.id}`,
        String(job.name ?? ""),
        word(job),
        percent(job.overallProgress),
        (job.clients ?? []).map((c) => labels.get(c.clientId) ?? c.hostname).join(","),
      ]),
    ),
  );
  if (more > 0) io.out.write(`… ${more} more jobs not shown\n`);
  return Exit.ok;
}

export type JobAction = "cancel" | "pause" | "resume" | "reschedule" | "delete" | "eject";

/** Why `action` would change nothing on a job in this state, or null when it would act. */
function noOpReason(action: JobAction, status: string, uiStatus: string): string | null {
  const finished = isFinished(status);
  switch (action) {
    case "cancel":
      return finished ? `is already ${status}` : null;
    case "pause":
      if (finished) return `is ${status}`;
      return status === "paused" || status === "pausing" ? `is already ${status}` : null;
    case "resume":
      return status === "paused" || status === "pausing" ? null : `is ${status}, not paused`;
    case "eject":
      // A parent waiting on children ejects the ones that run: uiStatus says whether any does.
      if (finished) return `is ${status}, not running`;
      return status === "queued" || status === "runnable"
        ? uiStatus.startsWith("running")
          ? null
          : `is ${status}, not running`
        : null;
    case "reschedule":
    case "delete":
      return null;
  }
}

/**
 * The job operations. A job the operation would not change (eject of a finished job, resume of a running
 * one) is named as unchanged; when none of the jobs would change, nothing is sent and it is an error, so a
 * script sees that its command did nothing.
 */
export async function jobAction(io: Io, action: JobAction, ids: number[]): Promise<number> {
  const calls = {
    cancel: () => io.server.cancelJobs(ids),
    pause: () => io.server.pauseJobs(ids),
    resume: () => io.server.resumeJobs(ids),
    reschedule: () => io.server.rescheduleJobs(ids),
    delete: () => io.server.deleteJobs(ids),
    eject: () => io.server.ejectJobs(ids),
  };
  const rows = await io.server.getJobs([...new Set(ids)], ["id", "status", "uiStatus"]);
  // An unknown id: the server's Fault names it (and the operation changes nothing).
  const unchanged = rows.every((j) => j !== null)
    ? rows.flatMap((j) => {
        const why = noOpReason(action, String(j.status ?? ""), String(j.uiStatus ?? ""));
        return why === null ? [] : [{ id: Number(j.id), why }];
      })
    : [];
  const notes = unchanged.map((u) => `job ${u.id} ${u.why}`).join("; ");
  if (unchanged.length === rows.length) throw new CliError(`${action}: nothing to do: ${notes}`, Exit.fault);
  await calls[action]();
  const done = ids.filter((id) => !unchanged.some((u) => u.id === id));
  io.out.write(io.json ? toJson({ action, ids: done, unchanged }) : `${action}: ${done.join(", ")}\n`);
  if (notes !== "" && !io.json) process.stderr.write(`${action}: unchanged: ${notes}\n`);
  return Exit.ok;
}

export async function setPriority(io: Io, priority: number, ids: number[]): Promise<number> {
  await io.server.setJobPriority(ids, priority);
  io.out.write(io.json ? toJson({ priority, ids }) : `priority ${priority}: ${ids.join(", ")}\n`);
  return Exit.ok;
}

export async function listClients(io: Io): Promise<number> {
  const clients = await io.server.getClients(null, [
    "id",
    "label",
    "platform",
    "cpus",
    "gpus",
    "gpuModels",
    "load",
    "memory",
    "idleTime",
    "available",
    "disabled",
    "lastHeartbeat",
    "connected",
    "disconnectedSince",
    "upgradeState",
    ...CLIENT_STATE_ATTRIBUTES,
  ]);
  writeList(
    io,
    clients,
    [
      "ID",
      "CLIENT",
      "PLATFORM",
      "CPUS",
      "GPUS",
      "LOAD",
      "MEM(GB)",
      "IDLE",
      "STATE",
      "JOBS",
      "HEARTBEAT",
      "LINK",
      "UPGRADE",
    ],
    (c) => [
      String(c.id),
      String(c.label ?? c.hostname ?? ""),
      String(c.platform ?? ""),
      String(c.cpus ?? ""),
      gpuSummary(c.gpus, c.gpuModels),
      typeof c.load === "number" ? c.load.toFixed(2) : "-",
      typeof c.memory === "number" ? (c.memory / 1048576).toFixed(1) : "-",
      typeof c.idleTime === "number" && c.idleTime >= 0 ? `${c.idleTime}m` : "-",
      clientState(c),
      (c.runningJobs ?? []).join(","),
      when(c.lastHeartbeat),
      c.connected === false ? `disconnected since ${when(c.disconnectedSince)}` : "connected",
      String(c.upgradeState ?? "") || "-",
    ],
  );
  return Exit.ok;
}

/** A client's GPUs for the table: "-" without, else the count and each model with its count ("3: 2× A6000, T4"). */
export function gpuSummary(count: number | undefined, models: string[] | undefined): string {
  if (!count) return "-";
  const byModel = new Map<string, number>();
  for (const m of models ?? []) byModel.set(m, (byModel.get(m) ?? 0) + 1);
  const names = [...byModel].map(([m, n]) => (n > 1 ? `${n}× ${m}` : m));
  return names.length > 0 ? `${count}: ${names.join(", ")}` : String(count);
}

export async function setDisabled(io: Io, args: string[], disabled: boolean): Promise<number> {
  if (args.length === 0) throw new CliError("give one or more client ids or names", Exit.usage);
  const { found, unknown } = await resolveClients(io, args);
  const done: string[] = [];
  for (const { labels } of found)
    for (const label of labels) if ((await io.server.setdisabled(label, disabled)) !== null) done.push(label);
  if (done.length > 0 || io.json)
    io.out.write(
      io.json
        ? toJson({ disabled, clients: done, unknown })
        : `${disabled ? "disabled" : "enabled"}: ${done.join(", ")}\n`,
    );
  if (unknown.length > 0) throw noSuchClient(unknown);
  return Exit.ok;
}

/** `openhq remove CLIENT…`: removeClients; nothing is removed when one of them matches no client. */
export async function removeClients(io: Io, args: string[]): Promise<number> {
  if (args.length === 0) throw new CliError("remove: give one or more client ids or names", Exit.usage);
  const { found, unknown } = await resolveClients(io, args);
  if (unknown.length > 0) throw noSuchClient(unknown);
  const removed = await io.server.removeClients(found.flatMap((f) => f.ids));
  const labels = new Map(found.flatMap((f) => f.ids.map((id, i) => [id, f.labels[i]] as const)));
  io.out.write(
    io.json
      ? toJson({ removed })
      : `removed: ${removed.map((id) => `${labels.get(id) ?? ""} (${id})`).join(", ")}\n`,
  );
  return Exit.ok;
}

export async function listGroups(io: Io): Promise<number> {
  const groups = await io.server.getClientGroups();
  writeList(io, groups, ["ID", "GROUP", "CLIENTS"], (g) => [
    String(g.id),
    String(g.name ?? ""),
    (g.clients ?? []).join(","),
  ]);
  return Exit.ok;
}

export async function listShares(io: Io): Promise<number> {
  const shares = await io.server.getShares();
  writeList(io, shares, ["SHARE", "RUNNING", "GUARANTEE", "WEIGHT", "BURST", "USERS"], (s) => [
    String(s.name ?? ""),
    text(s.running),
    text(s.guarantee),
    text(s.weight),
    s.burst ? `${s.burst}${s.burst.endsWith("%") ? ` (${text(s.burstSlots)})` : ""}` : "-",
    (s.users ?? []).join(","),
  ]);
  return Exit.ok;
}

export async function listResources(io: Io): Promise<number> {
  const resources = await io.server.getResources();
  writeList(io, resources, ["ID", "RESOURCE", "AMOUNT", "USED", "PER"], (r) => [
    String(r.id),
    String(r.name ?? ""),
    text(r.amount),
    text(r.used),
    r.perMachine ? "machine" : "job",
  ]);
  return Exit.ok;
}

/** wakeup/terminate go to the agent's own port-5001 API, not through the coordinator. */
export async function agentCall(
  io: Io,
  call: "wakeup" | "terminate",
  host: string,
  token?: string,
): Promise<number> {
  const agent = new HQClient(agentUrl(host, token));
  await (call === "wakeup" ? agent.wakeup() : agent.terminate());
  io.out.write(io.json ? toJson({ call, host }) : `${call}: ${host}\n`);
  return Exit.ok;
}
