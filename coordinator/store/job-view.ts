// A job record as the HQueue API shows it (docs/COMPAT.md §5): attribute names, None for missing values, dateTimes
// as Date, and the "slow" HQueue roll-ups (uiStatus, overallProgress, ETA) computed from the fields the
// transitions maintain in the same hash, so getJobs costs one HGETALL per job however big the tree.

import { isFinished, RUNNING_STATUSES, statusIn } from "../../shared/statuses.js";
import {
  withDoubles,
  type CallContext,
  type XmlRpcStruct,
  type XmlRpcValue,
} from "../../shared/xmlrpc/types.js";
import { NotFound } from "../refusal.js";
import { guardEnvironment } from "./environment-access.js";
import { jobField, type JobRecord, type JobStore } from "./jobs.js";
import { runSeconds, type RunTimes } from "./run-time.js";

export const JOB_ATTRIBUTES = [
  "children",
  "clients",
  "clientsOnHold",
  "conditions",
  "endTime",
  "ETA",
  "id",
  "latestNote",
  "logs",
  "name",
  "overallProgress",
  "parents",
  "priority",
  "progress",
  "queueTime",
  "resources",
  "showBlockedClientsWarning",
  "startTime",
  "status",
  "tags",
  "threadId",
  "triesLeft",
  "uiStatus",
  "waitingFor",
  // stored spec fields
  "command",
  "shell",
  "cpus",
  "environment",
  "minHosts",
  "maxHosts",
  "maxTime",
  "onSuccess",
  "onError",
  "onCancel",
  "onChildError",
  "description",
  "submittedBy",
  "emailTo",
  "emailReasons",
  // openhq extras
  "rootJobId",
  "attempt",
  "runTime",
  "stallTimeout",
  "childCounts",
  "lastError",
  "gpus",
  "gpuMemory",
  "share",
  "maxRunning",
] as const;

/** Fractions HQueue sends as floats: Python must see 0.0 and 1.0, not the ints a whole JS number becomes. */
const FLOAT_ATTRIBUTES = ["progress", "overallProgress", "runTime"];

function date(ms: string | undefined): Date | null {
  return ms === undefined ? null : new Date(Number(ms));
}

function json(value: string | undefined, fallback: XmlRpcValue): XmlRpcValue {
  return value === undefined ? fallback : (JSON.parse(value) as XmlRpcValue);
}

function optionalText(value: string | undefined): string | null {
  return value === undefined ? null : value;
}

export function overallProgress(job: JobRecord): number {
  const n = Number(jobField(job, "treeN"));
  if (n <= 0) return job.status === "succeeded" ? 1 : 0;
  return Math.min(1, Math.max(0, Number(jobField(job, "treeP")) / n));
}

export function uiStatus(job: JobRecord): string {
  const status = job.status ?? "";
  if (status === "runnable") {
    const waiting = job.waitingFor ?? "";
    return waiting.startsWith("waiting for resources") ? "waiting for resources" : "waiting for machine";
  }
  const running = Number(jobField(job, "treeRun"));
  if ((status === "queued" || status === "running") && running > 0) {
    return `running (${running} clients assigned)`;
  }
  return status;
}

function runTimes(job: JobRecord): RunTimes {
  return {
    start: job.startTime === undefined ? NaN : Number(job.startTime),
    end: job.endTime === undefined ? NaN : Number(job.endTime),
    pausedMs: Number(job.pausedMs ?? 0),
    pausedAt: job.pausedAt === undefined ? NaN : Number(job.pausedAt),
  };
}

/**
 * openhq's `runTime`: seconds the job's own current or last run has been running, paused time excluded
 * (store/run-time.ts); None for a job that never ran on a client (a parent's startTime is its first child's).
 */
export function runTime(job: JobRecord, now: number): number | null {
  if (Number(jobField(job, "attempt")) === 0) return null;
  const seconds = runSeconds(runTimes(job), now);
  return Number.isFinite(seconds) ? Math.round(seconds * 1000) / 1000 : null;
}

/** Seconds left, from the progress rate since the job (or its tree) started; -1 when unknown. */
export function eta(job: JobRecord, now: number): number {
  const status = job.status ?? "";
  if (isFinished(status)) return 0;
  if (job.startTime === undefined) return -1;
  const progress =
    statusIn(RUNNING_STATUSES, status) && job.nKids === undefined
      ? Number(jobField(job, "progress"))
      : overallProgress(job);
  if (!(progress > 0) || progress >= 1) return -1;
  // A run's own rate leaves its paused time out; a tree's counts from its first start.
  const elapsed =
    job.nKids === undefined ? runSeconds(runTimes(job), now) : (now - Number(job.startTime)) / 1000;
  return Math.max(0, Math.round((elapsed * (1 - progress)) / progress));
}

/**
 * openhq's `childCounts` of a parent (None for a job without children): its children, those succeeded and
 * those that did not, and the running jobs and counted jobs below it. From the roll-ups every transition
 * keeps, so no child is read.
 */
export function childCounts(job: JobRecord): XmlRpcValue {
  const children = Number(jobField(job, "nKids"));
  if (!(children > 0)) return null;
  const left = Number(jobField(job, "kidsLeft"));
  const bad = Number(jobField(job, "kidsBad"));
  return {
    children,
    done: Math.max(0, children - left - bad),
    bad,
    running: Number(jobField(job, "treeRun")),
    descendants: Math.max(children, Number(jobField(job, "treeN")) - 1),
  };
}

function command(job: JobRecord): XmlRpcValue {
  if (job.commandByOs !== undefined) return JSON.parse(job.commandByOs) as XmlRpcValue;
  return job.command ?? "";
}

function logs(job: JobRecord): XmlRpcValue {
  if (job.logs === undefined) return [];
  return (JSON.parse(job.logs) as [string, number][]).map(([text, ms]) => [text, new Date(ms)]);
}

const INTEGER = (name: string) => (job: JobRecord) => Number(jobField(job, name));

const GETTERS: Record<(typeof JOB_ATTRIBUTES)[number], (job: JobRecord, now: number) => XmlRpcValue> = {
  children: (j) => json(j.children, []),
  clients: (j) => json(j.clients, []),
  clientsOnHold: (j) => json(j.clientsOnHold, []),
  conditions: (j) => json(j.conditions, []),
  endTime: (j) => date(j.endTime),
  ETA: (j, now) => eta(j, now),
  id: INTEGER("id"),
  latestNote: (j) => j.latestNote ?? "",
  logs,
  name: (j) => j.name ?? "",
  overallProgress,
  parents: (j) => json(j.parents, []),
  priority: INTEGER("priority"),
  progress: (j) => Number(jobField(j, "progress")),
  queueTime: (j) => date(j.queueTime),
  resources: (j) => json(j.resources, null),
  showBlockedClientsWarning: (j) => j.showBlockedClientsWarning === "1",
  startTime: (j) => date(j.startTime),
  status: (j) => j.status ?? "",
  tags: (j) => json(j.tags, []),
  threadId: (j) => (j.threadId === undefined ? null : Number(j.threadId)),
  triesLeft: INTEGER("triesLeft"),
  uiStatus,
  waitingFor: (j) => j.waitingFor ?? "",
  command,
  shell: (j) => optionalText(j.shell),
  cpus: INTEGER("cpus"),
  environment: (j) => json(j.environment, {}),
  minHosts: INTEGER("minHosts"),
  maxHosts: INTEGER("maxHosts"),
  maxTime: INTEGER("maxTime"),
  onSuccess: (j) => optionalText(j.onSuccess),
  onError: (j) => optionalText(j.onError),
  onCancel: (j) => optionalText(j.onCancel),
  onChildError: (j) => optionalText(j.onChildError),
  description: (j) => j.description ?? "",
  submittedBy: (j) => j.submittedBy ?? "",
  emailTo: (j) => j.emailTo ?? "",
  emailReasons: (j) => j.emailReasons ?? "",
  // A root stores no `root` (store/jobs.ts header): its own id.
  rootJobId: (j) => Number(j.root ?? jobField(j, "id")),
  attempt: INTEGER("attempt"),
  runTime,
  stallTimeout: (j) => (j.stallTimeout === undefined ? null : Number(j.stallTimeout)),
  childCounts,
  lastError: (j) => optionalText(j.lastError),
  // GPUs per client of a run, and MB each must have (0 = any); the devices a run got are in `clients`.
  gpus: INTEGER("gpus"),
  gpuMemory: INTEGER("gpuMemory"),
  share: (j) => j.share ?? "default",
  maxRunning: (j) => (j.maxRunning === undefined ? null : Number(j.maxRunning)),
};

/**
 * The attributes of one job. `attribs` undefined = all; unknown names are returned as None (HQueue scripts
 * ask for attributes of newer versions and expect a key back).
 */
export function jobAttributes(
  job: JobRecord,
  attribs: readonly string[] | undefined,
  now: number,
): XmlRpcStruct {
  const out: XmlRpcStruct = {};
  for (const name of attribs ?? JOB_ATTRIBUTES) {
    const getter = (GETTERS as Record<string, ((job: JobRecord, now: number) => XmlRpcValue) | undefined>)[
      name
    ];
    out[name] = getter ? getter(job, now) : null;
  }
  return withDoubles(out, FLOAT_ATTRIBUTES);
}

/** The hash fields each attribute is computed from (the attribute's own name when not listed). */
const SOURCES: Record<string, string[]> = {
  // treeN: an absent one is 1 or 0 by noProg (jobField).
  ETA: [
    "status",
    "startTime",
    "progress",
    "nKids",
    "treeN",
    "noProg",
    "treeP",
    "endTime",
    "pausedMs",
    "pausedAt",
  ],
  runTime: ["attempt", "startTime", "endTime", "pausedMs", "pausedAt"],
  overallProgress: ["status", "treeN", "noProg", "treeP"],
  uiStatus: ["status", "waitingFor", "treeRun"],
  childCounts: ["nKids", "kidsLeft", "kidsBad", "treeRun", "treeN", "noProg"],
  command: ["command", "commandByOs"],
  rootJobId: ["root"],
  // Whether a caller may read the values depends on who submitted the job (environment-access.ts).
  environment: ["environment", "submittedBy"],
};

/** The fields to read for `attribs` (undefined = all attributes = every field: read the whole hash). */
export function fieldsFor(attribs: readonly string[] | undefined): string[] {
  if (attribs === undefined) return [];
  const fields = new Set(["id"]);
  for (const name of attribs) for (const f of SOURCES[name] ?? [name]) fields.add(f);
  return [...fields];
}

/**
 * Jobs as getJobs shows them to `caller` (null for a job that does not exist): `attribs` undefined = all,
 * the environment's values masked where the caller may not read them; at most `maxBytes` of job data read.
 */
export async function readJobViews(
  store: JobStore,
  ids: readonly number[],
  attribs: readonly string[] | undefined,
  caller: CallContext,
  maxBytes?: number,
): Promise<(XmlRpcStruct | null)[]> {
  const now = Date.now();
  const jobs = await store.read([...ids], fieldsFor(attribs), maxBytes);
  return jobs.map((job) => (job ? guardEnvironment(jobAttributes(job, attribs, now), job, caller) : null));
}

/** One job as getJob shows it to `caller`; NotFound when it does not exist. */
export async function readJobView(
  store: JobStore,
  id: number,
  attribs: readonly string[] | undefined,
  caller: CallContext,
): Promise<XmlRpcStruct> {
  const [view] = await readJobViews(store, [id], attribs, caller);
  if (!view) throw new NotFound(`job ${id} does not exist`);
  return view;
}
