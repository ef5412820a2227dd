// The job store: thin TypeScript around the named Lua scripts in ./lua (one script per state transition).
//
// ---- Job hash `{p}job:{id}` ------------------------------------------------------------------------------
// All values are strings. To keep a finished job small (listpack encoding), optional fields whose value is
// the default are ABSENT; read them with the default given here (`jobField()` below does).
//
// spec (written by addJobs, never changed except where noted):
//   id               the job id; not stored by addJobs (the key names it: `{p}job:{id}`), but a job stored by an
//                    older version has it. Readers take the id from the key (JobStore.read and jobHash fill it in)
//   name             required
//   command          shell text; absent or "" = commandless container (succeeds once its children do)
//   commandByOs      JSON {"linux":..,"windows":..,"macosx":..} when the spec gave a dict; `command` is then ""
//                    and the scheduler picks the client's platform entry (no entry = the job fails at dispatch)
//   shell            absent = the client OS default
//   priority         integer >= 0; absent = 0 (setJobPriority changes it and re-scores the queue)
//   cpus             integer >= 1; absent = 1
//   tags             JSON list of strings; absent = []
//   conditions       JSON list of {type,name,op,value}; already includes the host/hostgroup shortcuts and the
//                    root's conditions when the spec gave none; absent = [] (savePermittedClientsList rewrites)
//   environment      JSON dict str->str; absent = {}
//   resources        JSON dict name->amount; absent = none
//   minHosts maxHosts integers; absent = 1
//   maxTime          seconds > 0; absent = -1 (no limit)
//   triesLeft        integer; absent = 0; decremented on each automatic retry
//   stallTimeout     seconds without output before the agent kills a run as hung; "0" = off; absent = the farm's
//                    openhq.stallTimeout (given or inherited from the first parent at submit)
//   gpus gpuMemory   GPUs each client of a run books, and MB each of them must have; absent = 0 (inherited
//                    from the first parent at submit when the spec gave none)
//   onSuccess onError onCancel onChildError   shell text; absent = none
//   share            the job's share (coordinator/shares.ts): the spec's or its first parent's, else its
//                    submittedBy's in openhq.share.*.users, else default; absent = "default"; an unknown name is
//                    default, with a warning in `logs`
//   maxRunning       most running jobs of its subtree (itself and descendants) at once; absent = no cap
//   capBy capUp      the job whose maxRunning caps this one (itself, or its first parent's capBy); on a capping
//                    job, the cap above it; absent = none (checked by moveToAssigned, lua/includes/shares.lua)
//   description submittedBy emailTo emailReasons   absent = ""
//   mailOn           ",succeeded,failed,": the statuses whose transition mails emailTo (coordinator/notices/
//                    addresses.ts); absent = no mail (emailTo or emailReasons not given)
// state:
//   status           one of shared/statuses.ts (always present)
//   progress         0..1 of the job's own command; absent = 0 (1 once succeeded; a commandless job stays 0)
//   attempt          the current/last run's number; absent = 0 (never assigned: addJobs no longer writes "0");
//                    the scheduler's moveToAssigned increments it
//   queueTime        ms since epoch of submission (always present)
//   startTime        ms; the job's own start, or the first start of any descendant (maintained); absent = None
//   endTime          ms; set when the job finishes, removed when it is rescheduled; absent = None
//   root             the root job id (first parent's root when a job has several parents); absent = the job's
//                    own id (a root: addJobs and deleteJobs' detach store none; older versions stored the id)
//   parents          JSON list of parent ids; absent = [] (a root)
//   children         JSON list of child ids, in creation order; absent = []
//   clients          JSON list of {hostname, clientId, master} of the current/last run, with `gpus` (the
//                    device indices booked there) for a job with gpus; absent = []
//   clientsOnHold    JSON list; absent = []
//   waitingFor       text; absent = ""
//   showBlockedClientsWarning   "1" when set; absent = false
//   threadId latestNote   mirrored by the note store (store/notes.ts); absent = None / ""
//   logs             compact JSON list of [text, ms] (capped at the newest 50); texts: "setting status to S",
//                    "started", "resumed", "rescheduled ...", "priorityChanged to N", "ejected", "blade lost: <label>, <why> ..."
//   cmdDone          "1" once the job's own command succeeded (a job that gained children while running
//                    then waits in `queued` for them and does not run its command again)
//   childError       "1" when the job failed because a child failed AND it has an onChildError hook: the job is
//                    put in the queue as `runnable` so the scheduler can run ONLY the onChildError text (not the
//                    command) on a client; moveToFinished then marks it failed whatever the exit code, no retry
//   pausedRunning    "1" while a job that was running is pausing/paused (resume -> resuming, not the queue)
//   pausedMs         ms the current/last run spent stopped by a pause (confirmPaused -> confirmResumed); absent = 0
//   pausedAt         ms when the agent confirmed the pause of the current run, while it is stopped; absent = not
//                    stopped (a run that ends stopped keeps it: its span ends at endTime). Both go at the next
//                    assignment. Run time = (endTime or now) - startTime - paused time (store/run-time.ts)
//   lastError        why the latest failed attempt failed: its last non-empty output line (≤ 200 bytes, no
//                    control characters), else "exited with code N" etc.; set by moveToFinished, and by
//                    moveToLost as "blade lost: <label>, <why>"; absent = None
//   failKey          while failed or abandoned: lastError normalized (shared/failure-groups.ts), the failure
//                    group its parents count it in (lua/includes/kidsIndex.lua); absent otherwise
//   lostAttempts     runs that ended because their machine was lost (moveToLost); absent = 0; at
//                    openhq.maxLostAttempts the job is abandoned; rescheduleJobs clears it
// roll-ups (maintained by every transition, read with one HGETALL):
//   nKids            number of children; absent = 0
//   kidsLeft         children not finished yet; absent = 0 (a waiting parent is `queued` while > 0)
//   kidsBad          finished children that did not succeed (failed/abandoned/cancelled); absent = 0
//   noProg           "1": the job does not count for progress (commandless, or tagged excludeProgress)
//   treeN            jobs in the subtree that count for progress (self + descendants, minus noProg); absent = the
//                    job's own count, 1 (0 with noProg): addJobs writes it only for a parent (older versions
//                    wrote "1" for every job without noProg). Lua adds to it with util.lua addTreeN
//   treeP            sum of their progress; overallProgress = treeP / treeN
//   treeRun          running descendants (not self); uiStatus "running (N clients assigned)" for a waiting parent
//                    (in a DAG, a descendant reachable along two paths counts once per path)
//   (uiStatus and ETA are pure functions of these fields: see job-view.ts)
// event fencing (lua/includes/fence.lua; one seq per (job, attempt) for output chunks and job events):
//   seqAttempt       the attempt whose events eventSeq counts (the first event of a new attempt resets it)
//   eventSeq         highest applied seq (seq <= eventSeq is a duplicate, ignored)
// output (coordinator/logs; keys and fields in lua/includes/logKeys.lua):
//   log:{attempt}    "bytes z n cut sha256": the sealed log of that attempt, whole in the file store
// dispatch:
//   cls              the job's requirement class (lua/includes/util.lua classOf; coordinator/scheduler/README.md)
//   slotsHeld        while it runs: the CPU slots counted for its share and user (cpus x clients), given back
//                    once by releaseClients (absent or 0 after)
// bad blades (lua/includes/bladeHealth.lua), on a root:
//   okOn             up to 2 client ids a frame of the tree succeeded on, comma-separated; absent = none
//   bladeFailed      "1" once a frame of the tree failed on a blade (its counts are in {p}job:{root}:bladeFails)
//
// ---- Other keys (coordinator/store/keys.ts) --------------------------------------------------------------
//   The queue is {p}jobs:status:runnable: exactly the runnable jobs; score = -priority * 2^32 + INCR
//   {p}ids:queue at entry. Each is also in {p}queue:class:{cls}; {p}queue:heads lists the classes.
//   Conditions: {type:"client", name, op, value}; value is a string, lists separated by , ; or spaces.
//   name "hostname:name" (savePermittedClientsList) matches client labels: an entry "host" matches any client
//   on that host, "host:" the client with an empty name, "host:n" that one client.
//   {p}jobs:status:{s} ZSET: ids by status (runnable: the queue); {p}jobs:roots:unfinished; {p}jobs:expiry
//   (finished roots by end).
//
// ---- Shared Lua (lua/includes) for the scheduler ----------------------------------------------------------
//   -- @include setStatus   setStatus(id, newStatus, now[, known])  moves the job between status sets,
//                           enters or leaves the queue and its class, appends the log entry, maintains
//                           roots/expiry sets, the ancestors' treeRun and startTime, and PUBLISHes
//                           {"type":"job","jobId":N,"status":S[,"released":[cid...]]} on {p}events (not for an
//                           assignment: `known.quiet`). `known`: what a hot transition read already and its own
//                           fields, written in the same HSET.
//   -- @include releaseClients   releaseClients(id[, read, quiet])  removes the job from every
//                           {p}client:{cid}:jobs of its `clients`, LPUSHes the id on {p}client:{cid}:history
//                           (trimmed to 100 once past 110), releases the
//                           job's resources (the scheduler's releaseResources block). Called by every move out
//                           of a running state.
//   -- @include endRun      leaveClients / requeue / retryOrEnd: how a run ends without finishing its job for good.
//   -- @include fence       fenceLiveRead / fenceLiveEvent / fenceRange: the checks every agent event starts with.
//   -- @include targets     cascadeTargets / changeTargets: the jobs a cascading operation touches.
// ---- Control messages -----------------------------------------------------------------------------------
//   {p}events also carries {"type":"released","jobId":N,"clients":[cid...]} (releaseClients; a finish may put
//   them on its status notice instead, as "released") and, once per
//   newjob, {"type":"jobs","added":n,"runnable":k} (no per-job events for new jobs); deleteJobs and
//   setJobPriority publish {"type":"jobs","deleted":n} / {"type":"jobs","priorityChanged":n}.
//   Scripts that stop/suspend a running attempt PUBLISH on {p}control:{clientId}, for each client of the job,
//   JSON {"type":"cancel"|"pause"|"resume"|"eject","jobId":N,"attempt":A}. The link subscribes and forwards.
//
// ---- Transitions for the agent link (each one lua/<name>.lua; ARGV prefix, now, then as listed) -----------
//   recordStarted   (id, attempt, seq, clientId)                       -> 'ok' | 'stale' | 'duplicate'
//   updateProgress  (id, attempt, seq, progress 0..1)                   -> 'ok' | 'stale' | 'duplicate'
//   appendOutput    (id, attempt, seq, cap, quota, window, data bytes...) -> {'ok'|'stale'|'duplicate'|'full', waiting, cut}
//   moveToFinished  (id, attempt, seq, exitCode|"", signal|"", reason, stalledAfter|"", openhq.blade.* settings)
//                                                                      -> {'ok' | 'stale' | 'duplicate', log 0|1}
//   confirmPaused / confirmResumed (id, attempt, seq)                   -> 'ok' | 'stale' | 'duplicate'
//   moveToLost      (id, attempt, label, why, maxLost)                  -> 'requeued' | 'abandoned' | 'stale'
//   (each event transition also answers 'gap' when an earlier seq is missing, having changed nothing)
//   skipGap         (id, attempt, seq)                                  -> 'ok' | 'stale'
// Unknown job ids raise "NOTFOUND ..." script errors. The JobStore methods below wrap them.
// Job operations (ARGV prefix, now, id...; each cascades to descendants; any unknown id changes nothing):
//   cancelJobs pauseJobs resumeJobs ejectJobs rescheduleJobs deleteJobs; setJobPriority (priority, id...);
//   setJobFields (id, field, value, ...); addJobs (JSON payload, coordinator/api/jobspec.ts); readJobs.

import { runScript, type ScriptArg } from "./lua-scripts.js";
import { withImplied } from "./job-fields.js";
import { doomedJobs, eachYielding, reopenedJobs } from "./tree-walks.js";
import { tuneRedis } from "./tune.js";
import { BLADE_DEFAULTS, type Context, type ServerSettings } from "../context.js";
import { readBytes } from "../logs/read.js";
import { readView } from "./logs.js";
import { WINDOW_BYTES } from "../logs/index.js";
import { BadArgument, NotFound, Refusal, refusal, refusalKind } from "../refusal.js";
import type { JobStatus } from "../../shared/statuses.js";
import { DEFAULT_MAX_LOST_ATTEMPTS } from "../liveness.js";

/** 'gap': an earlier event of the attempt is missing; nothing was applied (lua/includes/fence.lua). */
export type EventResult = "ok" | "stale" | "duplicate" | "gap";
export type FinishReason = "exited" | "cancelled" | "maxTime" | "stalled" | "spawnError";
/** What moveToLost did: back in the queue, ended at the loss cap, or nothing (a later attempt, or finished). */
export type LostResult = "requeued" | "abandoned" | "stale";
/** A job hash as read: field -> string. */
export type JobRecord = Record<string, string>;

/**
 * What the job store needs of the coordinator's context: a view of Context, of whose settings it needs only
 * maxOutputBytes (the rest have defaults), so that tools and tests can build a store on a bare farm.
 */
export type StoreContext = Pick<Context, "redis" | "keys" | "logs"> &
  Partial<Pick<Context, "recordError">> & {
    settings: Pick<ServerSettings, "maxOutputBytes"> &
      Partial<Pick<ServerSettings, "maxLogBytes" | "maxLostAttempts" | "blade">>;
  };

/** Default values of fields that may be absent (see the header). */
const DEFAULTS: Record<string, string> = {
  command: "",
  priority: "0",
  cpus: "1",
  minHosts: "1",
  maxHosts: "1",
  triesLeft: "0",
  progress: "0",
  attempt: "0",
  maxTime: "-1",
  gpus: "0",
  gpuMemory: "0",
  kidsLeft: "0",
  kidsBad: "0",
  nKids: "0",
  treeP: "0",
  treeRun: "0",
};

/** Jobs per readJobs call: each call holds Redis for a few ms at most. */
const READ_CHUNK = 1000;
/** Jobs per call of a bulk job operation (~10 ms of Redis for cancelJobs), and per pipelined tree read. */
const BULK_CHUNK = 250;
const CHECK_CHUNK = 5000;

export type BulkOperation =
  | "cancelJobs"
  | "pauseJobs"
  | "resumeJobs"
  | "ejectJobs"
  | "rescheduleJobs"
  | "deleteJobs"
  | "setJobPriority";

/** What the store needs to know of a new job to split a long newjob list (coordinator/api/jobspec.ts). */
export interface NewJobLinks {
  /** Parents among the new jobs (0-based index in the list). */
  newParents: number[];
  /** Parents that exist already. */
  existingParents: number[];
}

/**
 * A job as addJobs.lua reads it, without what the script assumes when it is absent: empty id lists and
 * inherit flags that are true (a plain job's are all true). Decoding them was a tenth of addJobs' Redis cost
 * per job.
 */
function compactJob(job: object): object {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(job)) {
    if ((Array.isArray(v) && v.length === 0) || (v === true && k.startsWith("inherit"))) continue;
    out[k] = v;
  }
  return out;
}

/** Jobs per addJobs.lua call when a newjob list is split (~10 ms of Redis). */
const ADD_CHUNK = 500;

/** Every job of the tree comes after its parents in the list (newjob's breadth-first order, no stub links back). */
function parentsFirst(jobs: NewJobLinks[], tree: number[]): boolean {
  return tree.every((i) => (jobs[i] as NewJobLinks).newParents.every((p) => p < i));
}

/**
 * The list's indexes in calls of about ADD_CHUNK jobs, in list order within a call (roots first, as
 * addJobs.lua expects). Jobs linked through local parents share a call, except a tree larger than a call
 * whose parents come first: it is cut into calls of ADD_CHUNK jobs in list order, a job's parents then made
 * by the same or an earlier call (a Houdini/PDG submission: one parent, 100,000 work items).
 */
function addChunks(jobs: NewJobLinks[]): number[][] {
  const root = jobs.map((_, i) => i);
  const find = (i: number): number => {
    while (root[i] !== i) i = root[i] = root[root[i] as number] as number;
    return i;
  };
  jobs.forEach((job, i) => {
    for (const p of job.newParents) root[find(i)] = find(p);
  });
  const trees = new Map<number, number[]>();
  jobs.forEach((_, i) => {
    const r = find(i);
    const tree = trees.get(r);
    if (tree) tree.push(i);
    else trees.set(r, [i]);
  });
  const chunks: number[][] = [];
  let current: number[] = [];
  for (const tree of trees.values()) {
    if (current.length > 0 && current.length + tree.length > ADD_CHUNK) {
      chunks.push(current);
      current = [];
    }
    if (tree.length > ADD_CHUNK && parentsFirst(jobs, tree)) {
      for (let k = 0; k < tree.length; k += ADD_CHUNK) chunks.push(tree.slice(k, k + ADD_CHUNK));
      continue;
    }
    for (const index of tree) current.push(index);
  }
  if (current.length > 0) chunks.push(current);
  return chunks.map((chunk) => chunk.sort((a, b) => a - b));
}

/**
 * The payload of one addJobs.lua call of a split list: parents made by this call become local indexes,
 * parents made by an earlier call existing ids (`preCounted`: that call counted the job in their
 * `kidsLeft` already); `pendingKids` counts a job's children that later calls make, so it cannot run or
 * finish before they exist.
 */
function chunkPayload<J extends NewJobLinks>(
  jobs: J[],
  chunk: number[],
  ids: number[],
  pendingKids: number[],
): object[] {
  const local = new Map(chunk.map((index, k) => [index, k]));
  return chunk.map((index) => {
    const job = jobs[index] as J;
    const newParents: number[] = [];
    const earlier: number[] = [];
    for (const p of job.newParents) {
      const k = local.get(p);
      if (k !== undefined) newParents.push(k);
      else earlier.push(ids[p] as number);
    }
    const kids = pendingKids[index] ?? 0;
    return {
      ...job,
      newParents,
      ...(earlier.length > 0
        ? { existingParents: [...job.existingParents, ...earlier], preCounted: true }
        : {}),
      ...(kids > 0 ? { pendingKids: kids } : {}),
    };
  });
}

/** Priorities counted per waitingSince.lua call (2 O(log n) reads each: well under a millisecond per 100). */
const WAITING_STEPS = 1000;

/** The queue score bounds of priorities [min, max] (a negative bound: none). Score: keys.ts {p}queue. */
function priorityScores(min: number, max: number): [string, string] {
  const low = max < 0 ? "-inf" : String(-max * 2 ** 32 + 1);
  const high = min < 0 ? "+inf" : String(-min * 2 ** 32 + 2 ** 32 - 1);
  return [low, high];
}

/** "3-7, 12" for a list of ids. */
function idRanges(ids: number[]): string {
  const sorted = [...ids].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === (sorted[j] as number) + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(", ");
}

/** Operations whose scripts walk each id's subtree, and in which order: these take 'flat' lists (targets.lua). */
const CASCADES: Partial<Record<BulkOperation, "parents" | "children">> = {
  cancelJobs: "parents",
  pauseJobs: "parents",
  resumeJobs: "children",
  ejectJobs: "parents",
  setJobPriority: "parents",
};

/** A bulk operation that stopped after `done` of `ids` (a prefix of the list, in order). */
function partialRefusal(name: string, ids: number[], done: number, err: unknown): Refusal {
  const why = err instanceof Error ? err.message : String(err);
  const doneText =
    done === 0
      ? "none of the jobs were done"
      : `the first ${done} of the ${ids.length} jobs (up to job ${ids[done - 1]}) were done`;
  return refusal(
    refusalKind(err),
    `${name} stopped part-way: ${doneText}, the rest (from job ${ids[done]}) were not: ${why}`,
  );
}

/** A field of a job record with its documented default ("" when none). */
export function jobField(job: JobRecord, name: string): string {
  const value = job[name];
  if (value !== undefined) return value;
  // A job without its own treeN counts itself, unless noProg (read noProg with treeN: job-view.ts SOURCES).
  if (name === "treeN") return job.noProg === undefined ? "1" : "0";
  return DEFAULTS[name] ?? "";
}

export class JobStore {
  constructor(private readonly ctx: StoreContext) {}

  private run(name: string, args: ScriptArg[]): Promise<unknown> {
    return runScript(this.ctx.redis, this.ctx.keys.prefix, name, args);
  }

  /**
   * Creates the jobs of one newjob call (payload: coordinator/api/jobspec.ts); returns their ids in the
   * given order. Up to ADD_CHUNK jobs it is one addJobs.lua call, atomic. A longer list is cut between its
   * trees (jobs linked by local parents stay in one call) into calls of about ADD_CHUNK jobs, so no call
   * holds Redis for long; a failure part-way is a refusal naming the jobs already created.
   */
  async addJobs(jobs: NewJobLinks[]): Promise<number[]> {
    await tuneRedis(this.ctx.redis);
    if (jobs.length <= ADD_CHUNK)
      return (await this.run("addJobs", [JSON.stringify({ jobs: jobs.map(compactJob) })])) as number[];
    const chunks = addChunks(jobs);
    const chunkOf = new Array<number>(jobs.length);
    chunks.forEach((chunk, c) => chunk.forEach((index) => (chunkOf[index] = c)));
    const pendingKids = new Array<number>(jobs.length).fill(0);
    jobs.forEach((job, i) => {
      for (const p of job.newParents)
        if ((chunkOf[p] as number) < (chunkOf[i] as number)) pendingKids[p] = (pendingKids[p] as number) + 1;
    });
    const ids: number[] = new Array<number>(jobs.length);
    const created: number[] = [];
    for (const chunk of chunks) {
      const payload = chunkPayload(jobs, chunk, ids, pendingKids);
      let made: number[];
      try {
        made = (await this.run("addJobs", [JSON.stringify({ jobs: payload.map(compactJob) })])) as number[];
      } catch (err) {
        throw await this.stoppedPartWay(jobs, chunk, ids, created, pendingKids, err);
      }
      chunk.forEach((index, k) => (ids[index] = made[k] as number));
      for (const id of made) created.push(id);
    }
    return ids;
  }

  /**
   * The refusal of a split newjob list that failed at `chunk`. A tree cut across calls is left with parents
   * waiting for children that were never made: its part made so far is cancelled (best effort), so nothing
   * waits for ever.
   */
  private async stoppedPartWay(
    jobs: NewJobLinks[],
    chunk: number[],
    ids: number[],
    created: number[],
    pendingKids: number[],
    err: unknown,
  ): Promise<Refusal> {
    const why = err instanceof Error ? err.message : String(err);
    const done = created.length === 0 ? "no job was created" : `jobs ${idRanges(created)} were created`;
    // The roots (in this call) of the trees whose made part waits for children of this chunk or later.
    const waiting = new Set<number>();
    chunk.forEach((index) => {
      for (const p of (jobs[index] as NewJobLinks).newParents)
        if (ids[p] !== undefined && (pendingKids[p] as number) > 0) waiting.add(this.topOf(jobs, p));
    });
    let cancelled = "";
    if (waiting.size > 0) {
      const roots = [...waiting].map((i) => ids[i] as number);
      try {
        await this.cascade("cancelJobs", roots);
        cancelled = `; jobs ${idRanges(roots)} waited for children that were not created and were cancelled`;
      } catch {
        cancelled = `; jobs ${idRanges(roots)} wait for children that were not created: cancel them`;
      }
    }
    return refusal(
      refusalKind(err),
      `newjob stopped part-way (${created.length} of ${jobs.length} jobs): ${done}: ${why}${cancelled}`,
    );
  }

  /** The top of a new job's tree within its newjob list (first parents up). */
  private topOf(jobs: NewJobLinks[], index: number): number {
    let i = index;
    for (
      let p = (jobs[i] as NewJobLinks).newParents[0];
      p !== undefined;
      p = (jobs[i] as NewJobLinks).newParents[0]
    )
      i = p;
    return i;
  }

  async recordStarted(jobId: number, attempt: number, seq: number, clientId: number): Promise<EventResult> {
    return (await this.run("recordStarted", [jobId, attempt, seq, clientId])) as EventResult;
  }

  async updateProgress(jobId: number, attempt: number, seq: number, progress: number): Promise<EventResult> {
    return (await this.run("updateProgress", [jobId, attempt, seq, progress])) as EventResult;
  }

  appendOutput(jobId: number, attempt: number, seq: number, data: Buffer | string): Promise<EventResult> {
    return this.appendOutputs(jobId, attempt, seq, [data]);
  }

  /**
   * Appends the consecutive chunks seq, seq+1, … in one call: 'ok' when any of them was new. While the
   * attempt's window in Redis is full (the file store is behind, or failing: a full disk), this waits and
   * retries, so the caller acks nothing Redis does not hold and the agent keeps the rest.
   */
  async appendOutputs(
    jobId: number,
    attempt: number,
    seq: number,
    chunks: (Buffer | string)[],
  ): Promise<EventResult> {
    const { settings, logs } = this.ctx;
    const args = [jobId, attempt, seq, settings.maxOutputBytes, settings.maxLogBytes ?? 0, WINDOW_BYTES];
    // Encoded once here, the same bytes go to Redis and to the log writer's copy.
    const data = chunks.map((c) => (typeof c === "string" ? Buffer.from(c, "utf8") : c));
    await logs.room(
      jobId,
      attempt,
      data.reduce((n, c) => n + c.length, 0),
    );
    for (let tries = 0; ; tries++) {
      const [result, waiting, cut, before, skip] = (await this.run("appendOutput", [...args, ...data])) as [
        EventResult | "full",
        number,
        number,
        number,
        number,
      ];
      if (result === "full") {
        const flushed = await logs.flush(jobId, attempt);
        if (flushed !== "ok") await new Promise((r) => setTimeout(r, Math.min(1000, 20 * (tries + 1))));
        continue;
      }
      if (cut === 1) {
        void this.ctx.recordError?.({
          message: `job ${jobId} attempt ${attempt}: output cut by openhq.maxOutputBytes (${settings.maxOutputBytes}) or openhq.maxLogBytes (${settings.maxLogBytes ?? 0}); the job goes on, the rest of its output is dropped`,
          time: Date.now(),
        });
      }
      if (result === "ok") {
        // The coordinator that flushes next needs not read back from Redis what it just wrote there.
        if (cut === 0) logs.writer.remember(jobId, attempt, before, data.slice(skip));
        logs.appended(jobId, attempt, waiting);
      }
      return result as EventResult;
    }
  }

  async moveToFinished(
    jobId: number,
    attempt: number,
    seq: number,
    result: { exitCode: number | null; signal: string | null; reason: FinishReason; stalledAfter?: number },
  ): Promise<EventResult> {
    const exit = result.exitCode ?? "";
    // Only a whole number of seconds goes into the log entry an agent's report makes.
    const stalled = result.stalledAfter;
    const stalledAfter = Number.isSafeInteger(stalled) && (stalled as number) > 0 ? (stalled as number) : "";
    const blade = this.ctx.settings.blade ?? BLADE_DEFAULTS;
    const args = [
      jobId,
      attempt,
      seq,
      exit,
      result.signal ?? "",
      result.reason,
      stalledAfter,
      blade.jobFailures,
      blade.quarantineFailures,
      blade.quarantineWindowS * 1000,
      blade.probationS * 1000,
      blade.quarantineMaxPercent,
    ];
    const [applied, log] = (await this.run("moveToFinished", args)) as [EventResult, number];
    // Unless an earlier event is missing, the attempt is over whatever else the store said: its log can be
    // sealed (an attempt without output has none).
    if (log === 1 && applied !== "gap") this.ctx.logs.attemptOver(jobId, attempt);
    return applied;
  }

  async confirmPaused(jobId: number, attempt: number, seq: number): Promise<EventResult> {
    return (await this.run("confirmPaused", [jobId, attempt, seq])) as EventResult;
  }

  async confirmResumed(jobId: number, attempt: number, seq: number): Promise<EventResult> {
    return (await this.run("confirmResumed", [jobId, attempt, seq])) as EventResult;
  }

  /** Lets event `seq` through a gap the agent cannot fill (lua/skipGap.lua says when). */
  async skipGap(jobId: number, attempt: number, seq: number): Promise<"ok" | "stale"> {
    return (await this.run("skipGap", [jobId, attempt, seq])) as "ok" | "stale";
  }

  /**
   * Attempt `attempt` of a job ended because its machine was lost (lua/moveToLost.lua): requeued without
   * spending a try, or abandoned at openhq.maxLostAttempts. Called only through link/blade-lost.ts.
   */
  async moveToLost(jobId: number, attempt: number, label: string, why: string): Promise<LostResult> {
    const max = this.ctx.settings.maxLostAttempts ?? DEFAULT_MAX_LOST_ATTEMPTS;
    return (await this.run("moveToLost", [jobId, attempt, label, why, max])) as LostResult;
  }

  /**
   * cancelJobs, pauseJobs, resumeJobs, ejectJobs, rescheduleJobs, deleteJobs: number of jobs changed. Any
   * number of ids: see bulk().
   */
  cascade(name: BulkOperation, ids: number[]): Promise<number> {
    return this.bulk(name, [], ids);
  }

  setPriority(ids: number[], priority: number): Promise<number> {
    return this.bulk("setJobPriority", [priority], ids);
  }

  /**
   * A job operation over any number of ids (duplicates count once). The jobs it changes (the ids, and their
   * descendants for the cascading operations; deleteJobs' and rescheduleJobs' own sets, store/tree-walks.ts)
   * are worked out first, which also refuses unknown ids (and for deleteJobs unfinished ones) before any
   * change. Up to BULK_CHUNK jobs it is one script call, atomic. Beyond, the operation runs BULK_CHUNK jobs
   * per call over that list (parents first; children first for resume, as their scripts do), so a show's
   * root with 150,000 frames does not hold Redis for seconds. A failure part-way is a refusal saying how many
   * of the jobs, up to which one, were done.
   */
  private async bulk(name: BulkOperation, head: ScriptArg[], given: number[]): Promise<number> {
    const ids = [...new Set(given)];
    if (ids.length === 0) return 0;
    if (name === "deleteJobs") return this.bulkDelete(ids);
    if (name === "rescheduleJobs") return this.bulkReschedule(ids);
    const order = CASCADES[name];
    const list = await this.subtrees(ids);
    if (list.length <= BULK_CHUNK) return (await this.run(name, [...head, ...ids])) as number;
    if (order === "children") list.reverse();
    // A children-first script walks its ids from the last: hand it each chunk reversed.
    return this.chunked(name, list, (chunk) => [
      ...head,
      "flat",
      ...(order === "children" ? chunk.reverse() : chunk),
    ]);
  }

  /** `name` over `list`, BULK_CHUNK jobs a call (`args` makes a call's arguments); the sum of the replies. */
  private async chunked(
    name: BulkOperation,
    list: number[],
    args: (chunk: number[], start: number) => ScriptArg[],
  ): Promise<number> {
    let count = 0;
    for (let start = 0; start < list.length; start += BULK_CHUNK) {
      try {
        count += (await this.run(name, args(list.slice(start, start + BULK_CHUNK), start))) as number;
      } catch (err) {
        throw partialRefusal(name, list, start, err);
      }
    }
    return count;
  }

  /**
   * deleteJobs: the doomed set in chunks, parents first ('flat', how many of the chunk are given ids), then
   * the children that stay lose their deleted parents ('detach').
   */
  private async bulkDelete(ids: number[]): Promise<number> {
    const { order, kept } = await doomedJobs(this.ctx, ids);
    if (order.length <= BULK_CHUNK) return (await this.run("deleteJobs", ids)) as number;
    const count = await this.chunked("deleteJobs", order, (chunk, start) => [
      "flat",
      Math.max(0, Math.min(chunk.length, ids.length - start)),
      ...chunk,
    ]);
    await this.chunked("deleteJobs", kept, (chunk) => ["detach", ...chunk]);
    return count;
  }

  /**
   * rescheduleJobs: first every job's counters and its parents' (the jobs stay finished meanwhile, so none
   * runs early), then their statuses, parents first (a parent is queued before its children run).
   */
  private async bulkReschedule(ids: number[]): Promise<number> {
    const list = await reopenedJobs(this.ctx, ids);
    if (list.length <= BULK_CHUNK) return (await this.run("rescheduleJobs", ids)) as number;
    try {
      await this.chunked("rescheduleJobs", list, (chunk) => ["counters", ...chunk]);
    } catch (err) {
      // Counters are reset but no job is queued yet: say so, on top of how far the pass went.
      if (!(err instanceof Refusal)) throw err;
      throw refusal(err.kind, `${err.message} (in the first pass, the counters: no job was requeued)`);
    }
    return this.chunked("rescheduleJobs", list, (chunk) => ["statuses", ...chunk]);
  }

  /** Each id and its descendants, each once, parents first; a NotFound (changing nothing) for an unknown id. */
  private async subtrees(ids: number[]): Promise<number[]> {
    const { redis, keys } = this.ctx;
    const seen = new Set(ids);
    const out = [...ids];
    // The list grows as it is walked: each round takes what is there, up to CHECK_CHUNK.
    for (let start = 0; start < out.length;) {
      const batch = out.slice(start, start + CHECK_CHUNK);
      const pipe = redis.pipeline();
      for (const id of batch) pipe.hmget(keys.job(id), "status", "children");
      const replies = (await pipe.exec()) ?? [];
      const found: number[][] = [];
      batch.forEach((id, k) => {
        const [err, value] = replies[k] ?? [null, null];
        if (err) throw err;
        const [status, children] = value as (string | null)[];
        if (status === null || status === undefined) throw new NotFound(`job ${id} does not exist`);
        if (children) found.push(JSON.parse(children) as number[]);
      });
      await eachYielding(found.flat(), (child) => {
        if (!seen.has(child)) {
          seen.add(child);
          out.push(child);
        }
      });
      start += batch.length;
    }
    return out;
  }

  /** Sets plain fields of one job; "" removes a field. */
  async setFields(jobId: number, fields: Record<string, string>): Promise<void> {
    await this.run("setJobFields", [jobId, ...Object.entries(fields).flat()]);
  }

  /**
   * Each job's fields (null for a job that does not exist): all of them, or only `fields`. readJobs.lua,
   * 1,000 jobs per call. Past `maxBytes` of job data it stops with a BadArgument (a reply's bound).
   */
  async read(
    ids: number[],
    fields: readonly string[] = [],
    maxBytes = Number.POSITIVE_INFINITY,
  ): Promise<(JobRecord | null)[]> {
    const out: (JobRecord | null)[] = [];
    let bytes = 0;
    // An absent treeN's value depends on noProg (jobField).
    const read = fields.includes("treeN") && !fields.includes("noProg") ? [...fields, "noProg"] : fields;
    for (let start = 0; start < ids.length; start += READ_CHUNK) {
      const args = [read.length, ...read, ...ids.slice(start, start + READ_CHUNK)];
      const rows = (await this.run("readJobs", args)) as (string | null)[];
      for (const [k, row] of rows.entries()) {
        bytes += row === null ? 4 : row.length;
        out.push(
          row === null ? null : withImplied(ids[start + k] as number, JSON.parse(row) as JobRecord, read),
        );
      }
      if (bytes > maxBytes)
        throw new BadArgument(
          `the reply would pass ${Math.round(maxBytes / 2 ** 20)} MB of job data (${out.length} of ` +
            `${ids.length} jobs read); ask for fewer jobs or fewer attribs`,
        );
    }
    return out;
  }

  async exists(jobId: number): Promise<boolean> {
    return (await this.ctx.redis.exists(this.ctx.keys.job(jobId))) === 1;
  }

  /** Ids of jobs in any of the statuses, ascending. */
  async idsByStatus(statuses: readonly JobStatus[]): Promise<number[]> {
    const { redis, keys } = this.ctx;
    const lists = await Promise.all(statuses.map((s) => redis.zrange(keys.jobsByStatus(s), "0", "-1")));
    return [...new Set(lists.flat().map(Number))].sort((a, b) => a - b);
  }

  async rootIds(finished: boolean): Promise<number[]> {
    const { redis, keys } = this.ctx;
    // Finished roots are the expiry set's members (scored by end time), so they are sorted here.
    if (finished) return (await redis.zrange(keys.expiry, "0", "-1")).map(Number).sort((a, b) => a - b);
    return (await redis.zrange(keys.unfinishedRoots, "0", "-1")).map(Number);
  }

  /**
   * How many jobs wait in {p}queue with a priority in [min, max] (a negative bound: none), by score range:
   * ZCARD or ZCOUNT, O(log n) whatever the queue's depth. Score = -priority * 2^32 + arrival (1 .. 2^32 - 1).
   */
  async waitingCount(min = -1, max = -1): Promise<number> {
    const { redis, keys } = this.ctx;
    if (min < 0 && max < 0) return redis.zcard(keys.queue);
    if (min >= 0 && max >= 0 && min > max) return 0;
    const [low, high] = priorityScores(min, max);
    return redis.zcount(keys.queue, low, high);
  }

  /**
   * How many jobs with a priority in [min, max] (a negative bound: none) have waited in {p}queue since
   * `cutoff` (ms) or longer: waitingSince.lua, one ZCOUNT per priority present, WAITING_STEPS per call.
   */
  async waitingSince(cutoff: number, min = -1, max = -1): Promise<number> {
    if (min >= 0 && max >= 0 && min > max) return 0;
    const [first, high] = priorityScores(min, max);
    let low = first;
    let count = 0;
    for (;;) {
      const [n, next] = (await this.run("waitingSince", [cutoff, low, high, WAITING_STEPS])) as [
        number,
        string,
      ];
      count += n;
      if (next === "") return count;
      low = next;
    }
  }

  /** Runnable jobs with their queue scores (priority = the score's high part). */
  async queued(): Promise<{ id: number; priority: number }[]> {
    const flat = await this.ctx.redis.zrange(this.ctx.keys.queue, "0", "-1", "WITHSCORES");
    const out: { id: number; priority: number }[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      const score = Number(flat[i + 1]);
      out.push({ id: Number(flat[i]), priority: Math.max(0, Math.ceil(-score / 2 ** 32)) });
    }
    return out;
  }

  /**
   * The output of the job's latest attempt (or of `attempt`) as bytes: all of it, or (tailBytes > 0) at
   * least its newest tailBytes, read from the end of the log file without inflating the rest.
   */
  async output(jobId: number, tailBytes = 0, attempt: number | null = null): Promise<Buffer> {
    const view = await readView(this.ctx, jobId, attempt, tailBytes);
    if (view === null || view.kind === "none") return Buffer.alloc(0);
    return readBytes(this.ctx.logs.files, view, tailBytes);
  }

  /**
   * Deletes finished root jobs (and their trees) that ended more than `days` days before `now`; the
   * coordinator calls this on a timer for hqserver.expireJobsDays. Returns the number of jobs deleted.
   */
  async expireJobs(now: number, days: number): Promise<number> {
    if (!(days > 0)) return 0;
    const { redis, keys } = this.ctx;
    const cutoff = now - days * 86_400_000;
    let deleted = 0;
    for (;;) {
      const ids = (await redis.zrangebyscore(keys.expiry, "-inf", `(${cutoff}`, "LIMIT", 0, 500)).map(Number);
      if (ids.length === 0) return deleted;
      const exists = await Promise.all(ids.map((id) => this.exists(id)));
      const gone = ids.filter((_, i) => !exists[i]);
      if (gone.length > 0) await redis.zrem(keys.expiry, ...gone);
      try {
        deleted += await this.cascade(
          "deleteJobs",
          ids.filter((_, i) => exists[i]),
        );
      } catch (err) {
        // Another coordinator expired some of them first; the next round sees what is left.
        if (!(err instanceof NotFound)) throw err;
      }
      if (ids.length < 500) return deleted;
    }
  }
}

/** Runs expireJobs for the context's settings (hqserver.expireJobsDays); the coordinator's timer calls it. */
export function expireJobs(ctx: StoreContext & { settings: { expireJobsDays: number } }, now = Date.now()) {
  return new JobStore(ctx).expireJobs(now, ctx.settings.expireJobsDays);
}
