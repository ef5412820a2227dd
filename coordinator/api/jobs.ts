// The HQueue job API (reference: newjob, getJob(s), the status queries, the job operations, the status and
// event name lists) plus the extension setJobPriority. Every state change is one Lua transition of the job
// store (coordinator/store/jobs.ts); this file only coerces arguments and shapes replies.
//
// Decisions (docs/COMPAT.md leaves them open):
// - getJob/getinfo/getstatus/getJobOutput of an unknown id are Faults (notFound); getJobs answers None in
//   the place of a job that does not exist (a dashboard's list may race a delete).
// - The job operations Fault (notFound) when any id is unknown, and then change nothing. They take any number
//   of ids: long lists run in chunks after a check of every id (store/jobs.ts bulk), and a failure part-way
//   names the ids done. getJobs answers each id once (first-asked order) and Faults past a reply bound.
// - deleteJobs of an unfinished job is a Fault (conflict) and deletes nothing.
// - parent_id/child_ids of newjob apply to the top-level specs (those without a parent in the same call).

import {
  FAILED_STATUSES,
  FINISHED_STATUSES,
  JOB_STATUSES,
  PAUSED_STATUSES,
  PRIORITY_CHANGED_EVENTS,
  RESCHEDULED_EVENTS,
  RESUMED_EVENTS,
  RUNNING_STATUSES,
  STARTED_EVENTS,
  SUCCEEDED_STATUSES,
  UNFINISHED_STATUSES,
  WAITING_STATUSES,
  isJobStatus,
  type JobStatus,
} from "../../shared/statuses.js";
import { Fault, FaultCode, StreamedText, type Methods, type XmlRpcValue } from "../../shared/xmlrpc/types.js";
import type { Context } from "../context.js";
import { allClientLabels } from "../store/clients.js";
import { JobStore, type JobRecord } from "../store/jobs.js";
import { fieldsFor, readJobView, readJobViews } from "../store/job-view.js";
import {
  attribList,
  badArgument,
  bool,
  id,
  idList,
  int,
  isGiven,
  MAX_PRIORITY,
  optionalInt,
  str,
  strList,
} from "./args.js";
import { parseConditions, parseNewJob } from "./jobspec.js";
import { SubmitReasons } from "../scheduler/reasons.js";
import type { RegisteredClients } from "../scheduler/registered.js";
import { newestJobId, searchNames } from "../store/job-search.js";

/** The longest text searchJobNames takes: a name fragment, not a document. */
const MAX_SEARCH_TEXT = 200;

/** What setJobConditions takes at most: conditions, and bytes of them as stored (JSON). */
const MAX_CONDITIONS = 100;
const MAX_CONDITIONS_BYTES = 64 * 1024;

/** A whole log larger than this is streamed into the getJobOutput reply rather than read first. */
const STREAM_MIN_BYTES = 1024 * 1024;

/** Job data one getJobs reply may carry: its XML is about three times this, within the 64 MiB request bound. */
const MAX_GET_JOBS_BYTES = 16 * 2 ** 20;

function jobNotFound(jobId: number): Fault {
  return new Fault(FaultCode.notFound, `job ${jobId} does not exist`);
}

export function jobsMethods(ctx: Context, registered: RegisteredClients): Methods {
  const store = new JobStore(ctx);
  const reasons = new SubmitReasons(ctx, registered);

  async function readOne(jobId: number, attribs?: string[]): Promise<JobRecord> {
    const [job] = await store.read([jobId], fieldsFor(attribs));
    if (!job) throw jobNotFound(jobId);
    return job;
  }

  async function newjob(spec: XmlRpcValue | undefined, parent?: XmlRpcValue, children?: XmlRpcValue) {
    const jobs = parseNewJob(spec, parent, children);
    await reasons.mark(jobs);
    return store.addJobs(jobs);
  }

  function statusList(value: XmlRpcValue | undefined): JobStatus[] {
    const out = new Set<JobStatus>();
    strList(value, "statuses").forEach((raw, i) => {
      const s = raw.trim();
      if (s === "waiting") WAITING_STATUSES.forEach((w) => out.add(w));
      else if (isJobStatus(s)) out.add(s);
      else throw badArgument(`statuses[${i}]`, `unknown status ${JSON.stringify(s)}`);
    });
    return [...out];
  }

  const byStatus = async ([statuses]: XmlRpcValue[]) => store.idsByStatus(statusList(statuses));

  function operation(
    name: "cancelJobs" | "pauseJobs" | "resumeJobs" | "ejectJobs" | "rescheduleJobs" | "deleteJobs",
  ) {
    return async ([ids]: XmlRpcValue[]) => {
      await store.cascade(name, idList(ids, "job_ids"));
      return null;
    };
  }

  const listOf = (list: readonly string[]) => () => [...list];

  return {
    newjob: ([spec, parent, children]) => newjob(spec, parent, children),

    runcmd: async ([cmd]) => {
      const command = str(cmd, "cmd");
      const [jobId] = await newjob({ name: command, command });
      return jobId ?? null;
    },

    getJob: ([jobId, attribs], caller) =>
      readJobView(store, id(jobId, "job_id"), attribList(attribs), caller),

    // Each job once, in the order first asked for; the reply is bounded (store.read's maxBytes).
    getJobs: ([jobIds, attribs], caller) =>
      readJobViews(
        store,
        [...new Set(idList(jobIds, "job_ids"))],
        attribList(attribs),
        caller,
        MAX_GET_JOBS_BYTES,
      ),

    getinfo: ([jobId], caller) => readJobView(store, id(jobId, "job_id"), undefined, caller),

    getstatus: async ([jobId]) => {
      const jid = id(jobId, "job_id");
      const [job] = await store.read([jid], ["status"]);
      if (!job) throw jobNotFound(jid);
      return job.status ?? "";
    },

    getJobIdsByStatus: byStatus,
    getJobIdsBySatus: byStatus,
    getUnfinishedRootJobIds: () => store.rootIds(false),
    getFinishedRootJobIds: () => store.rootIds(true),

    // openhq extension: names across all jobs, children included, with the bounded newest-first scan.
    searchJobNames: async ([text, before]) => {
      const needle = str(text, "text").trim();
      if (needle === "" || needle.length > MAX_SEARCH_TEXT)
        throw badArgument("text", `expected 1 to ${MAX_SEARCH_TEXT} characters`);
      const newest = await newestJobId(ctx);
      const below = Math.min(newest + 1, Math.max(1, optionalInt(before, "before", newest + 1)));
      const found = await searchNames(ctx, needle, below);
      return { ids: found.ids, stoppedAt: found.stoppedAt, scanned: found.scanned };
    },

    getNumWaitingJobs: async ([waitTime, minPriority, maxPriority]) => {
      const minutes = optionalInt(waitTime, "wait_time", 0);
      const min = optionalInt(minPriority, "min_priority", -1);
      const max = optionalInt(maxPriority, "max_priority", -1);
      if (minutes <= 0) return store.waitingCount(min, max);
      return store.waitingSince(Date.now() - minutes * 60_000, min, max);
    },

    getJobOutput: async ([jobId, maxLastChars]) => {
      const jid = id(jobId, "job_id");
      if (!(await store.exists(jid))) throw jobNotFound(jid);
      const last = isGiven(maxLastChars) ? int(maxLastChars, "max_last_chars") : 0;
      if (last < 1) {
        const { logs } = ctx;
        const view = await logs.view(jid, null);
        if (view === null || view.kind === "none") return "";
        // A large log goes from its gzip file into the reply as it is read: no copy of it in memory.
        if (view.bytes > STREAM_MIN_BYTES) return new StreamedText(view.bytes, () => logs.stream(view));
        return (await logs.read(view)).toString("utf8");
      }
      // The last `last` characters are at most 4 bytes each: read only that much from the end of the log
      // (a tail of more than 64 Mi characters is read as the whole output).
      const bytes = await store.output(jid, last > 64 * 1024 * 1024 ? 0 : last * 4);
      let start = 0;
      // Begin at a character, not inside one the cut went through.
      while (start < bytes.length && start < 3 && ((bytes[start] as number) & 0xc0) === 0x80) start++;
      const text = bytes.subarray(start).toString("utf8");
      return text.length > last ? text.slice(text.length - last) : text;
    },

    cancelJobs: operation("cancelJobs"),
    pauseJobs: operation("pauseJobs"),
    resumeJobs: operation("resumeJobs"),
    rescheduleJobs: operation("rescheduleJobs"),
    ejectJobs: operation("ejectJobs"),
    deleteJobs: operation("deleteJobs"),

    setJobPriority: async ([jobIds, priority]) => {
      const p = int(priority, "priority");
      if (p < 0 || p > MAX_PRIORITY) throw badArgument("priority", `expected 0 to ${MAX_PRIORITY}, got ${p}`);
      await store.setPriority(idList(jobIds, "job_ids"), p);
      return null;
    },

    setShowBlockedClientsWarning: async ([jobId, state]) => {
      await store.setFields(id(jobId, "job_id"), {
        showBlockedClientsWarning: bool(state, "state") ? "1" : "",
      });
      return null;
    },

    getPermittedClientsList: async ([jobId]) => permittedClients(ctx, await readOne(id(jobId, "job_id"))),

    savePermittedClientsList: async ([jobId, clients]) => {
      const labels = strList(clients, "clients_list")
        .map((s) => s.trim())
        .filter((s) => s !== "");
      const conditions =
        labels.length === 0
          ? ""
          : JSON.stringify([{ type: "client", name: "hostname:name", op: "in", value: labels.join(",") }]);
      const jid = id(jobId, "job_id");
      await store.setFields(jid, { conditions });
      await reasons.rejudge(jid);
      return null;
    },

    // openhq extension: replaces a job's conditions (newjob's format; an empty list removes them). As with
    // savePermittedClientsList, the job moves to its new requirement class and its waiting reason is judged
    // again; a condition naming a group or client that does not exist is kept, as newjob keeps it, and the
    // reason says so ("no blade is in group gpu_blades").
    setJobConditions: async ([jobId, conditions]) => {
      const jid = id(jobId, "job_id");
      const list =
        Array.isArray(conditions) && conditions.length === 0 ? [] : parseConditions(conditions, "conditions");
      if (list.length > MAX_CONDITIONS)
        throw badArgument("conditions", `expected at most ${MAX_CONDITIONS}, got ${list.length}`);
      const text = list.length === 0 ? "" : JSON.stringify(list);
      if (text.length > MAX_CONDITIONS_BYTES)
        throw badArgument("conditions", `longer than ${MAX_CONDITIONS_BYTES} bytes`);
      await store.setFields(jid, { conditions: text });
      await reasons.rejudge(jid);
      return null;
    },

    getAllJobStatusNames: listOf(JOB_STATUSES),
    getFinishedJobStatusNames: listOf(FINISHED_STATUSES),
    getFailedJobStatusNames: listOf(FAILED_STATUSES),
    getSucceededStatusNames: listOf(SUCCEEDED_STATUSES),
    getRunningJobStatusNames: listOf(RUNNING_STATUSES),
    getPausedJobStatusNames: listOf(PAUSED_STATUSES),
    getWaitingJobStatusNames: listOf(WAITING_STATUSES),
    getUnfinishedJobStatusNames: listOf(UNFINISHED_STATUSES),
    getStartedJobEventNames: listOf(STARTED_EVENTS),
    getRescheduledEventNames: listOf(RESCHEDULED_EVENTS),
    getResumedEventNames: listOf(RESUMED_EVENTS),
    getPriorityChangedEventNames: listOf(PRIORITY_CHANGED_EVENTS),
  };
}

/**
 * The clients a job may run on, as labels: taken from its hostname / hostname:name conditions with `==`/`in`;
 * a job without such a condition may run anywhere, so every known client is listed.
 */
async function permittedClients(ctx: Context, job: JobRecord): Promise<string[]> {
  const conditions =
    job.conditions === undefined ? [] : (JSON.parse(job.conditions) as Record<string, unknown>[]);
  const listed: string[] = [];
  let restricted = false;
  for (const c of conditions) {
    if ((c.name === "hostname" || c.name === "hostname:name") && (c.op === "==" || c.op === "in")) {
      restricted = true;
      listed.push(
        ...String(c.value)
          .split(/[\s,;]+/)
          .filter((s) => s !== ""),
      );
    }
  }
  if (restricted) return [...new Set(listed)];
  return allClientLabels(ctx);
}
