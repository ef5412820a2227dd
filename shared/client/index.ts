// The typed TypeScript client for an HQueue-compatible server (what `import { HQServer } from "openhq"`
// gives). One method per published HQueue call, same names and argument order as the Python API, so a
// Python script translates line by line. Omitted optional arguments are sent as None (<nil/>), which the
// server treats as "use the default" (docs/COMPAT.md §1).

// This module (the package's "." entry) imports nothing of the coordinator or the agent: node built-ins, the
// XML-RPC codec and `ws` for followOutput. test/client-package.test.ts walks its imports to keep it so.

import { XmlRpcClient, XmlRpcProtocolError, type XmlRpcClientOptions } from "../xmlrpc/client.js";
import type { AvailabilityRule } from "../protocol.js";
import { followEvents, type EventFilters, type ServerEvent } from "./event-stream.js";
import { FINISHED_STATUSES } from "../statuses.js";
import { Fault, type XmlRpcValue } from "../xmlrpc/types.js";
import type {
  Client,
  ClientGroup,
  Condition,
  ErrorList,
  Job,
  JobAttributes,
  JobSpec,
  JobWith,
  Note,
  NoteThread,
  Resource,
  Share,
} from "./types.js";

export type * from "./types.js";
export type { AvailabilityRule } from "../protocol.js";
export { Fault, FaultCode } from "../xmlrpc/types.js";
export { XmlRpcProtocolError } from "../xmlrpc/client.js";
export { followOutput, type OutputEvent } from "./output-stream.js";
export { followEvents, type EventFilters, type ServerEvent } from "./event-stream.js";
export {
  JOB_STATUSES,
  FINISHED_STATUSES,
  FAILED_STATUSES,
  SUCCEEDED_STATUSES,
  RUNNING_STATUSES,
  PAUSED_STATUSES,
  WAITING_STATUSES,
  UNFINISHED_STATUSES,
  isJobStatus,
  type JobStatus,
} from "../statuses.js";

/**
 * The server could not be reached or did not answer in time (network error, refused connection, timeout).
 * A Fault is the server refusing the call; an XmlRpcProtocolError is an HTTP error status (401, 413, 500…).
 */
export class TransportError extends Error {
  constructor(
    message: string,
    /** the system error code when there is one (ECONNREFUSED, ETIMEDOUT…) */
    readonly code: string | undefined,
    /** true when the call's deadline passed */
    readonly timedOut: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "TransportError";
  }
}

export interface HQServerOptions {
  /** Deadline of each call, ms (default 120 s); `withTimeout(ms)` gives a view with another one. */
  timeoutMs?: number;
  /** Extra HTTP headers. */
  headers?: Record<string, string>;
}

export interface WaitOptions {
  /** Poll interval, ms (default 1000). */
  pollMs?: number;
  /** Give up after this long, ms (rejects with a TransportError whose timedOut is true). Default: never. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

type Ids = number | number[];

/** Client of the coordinator's XML-RPC API (port 5000). The URL may carry Basic auth: http://u:p@host:5000 */
export class HQServer {
  readonly rpc: XmlRpcClient;
  private readonly timeoutMs: number | undefined;
  /** The URL given (with its credentials), for the event stream; none when built on an XmlRpcClient. */
  private readonly serverUrl: string | undefined;

  constructor(url: string | XmlRpcClient, options: HQServerOptions & { serverUrl?: string } = {}) {
    const rpcOptions: XmlRpcClientOptions = {};
    if (options.headers) rpcOptions.headers = options.headers;
    this.rpc = typeof url === "string" ? new XmlRpcClient(url, rpcOptions) : url;
    this.timeoutMs = options.timeoutMs;
    this.serverUrl = typeof url === "string" ? url : options.serverUrl;
  }

  /** The same server (and connection pool) with another per-call deadline: `hq.withTimeout(5000).ping()`. */
  withTimeout(timeoutMs: number): HQServer {
    return new HQServer(this.rpc, {
      timeoutMs,
      ...(this.serverUrl === undefined ? {} : { serverUrl: this.serverUrl }),
    });
  }

  /**
   * The farm's live job and client transitions (GET /events, openhq extension), filtered by job tree, user
   * or kind: `for await (const e of hq.events({ job: 42 })) …`. Ends when the server drops the stream or
   * `signal` aborts.
   */
  events(filters: EventFilters = {}): AsyncGenerator<ServerEvent> {
    if (this.serverUrl === undefined) throw new TypeError("events(): this HQServer was made without a URL");
    return followEvents(this.serverUrl, filters);
  }

  /**
   * Any method by name, for calls this class does not list (openhq extensions, system.*). Rejects with a
   * Fault (the server refused), an XmlRpcProtocolError (HTTP error) or a TransportError (no answer).
   */
  async call<T = XmlRpcValue>(method: string, ...params: (XmlRpcValue | undefined)[]): Promise<T> {
    const sent = params.map((p) => (p === undefined ? null : p));
    // Trailing Nones are dropped: "missing" and "None" mean the same and older servers count arguments.
    while (sent.length > 0 && sent[sent.length - 1] === null) sent.pop();
    try {
      return (await this.rpc.callWith({ timeoutMs: this.timeoutMs }, method, ...sent)) as T;
    } catch (err) {
      if (err instanceof Fault || err instanceof XmlRpcProtocolError) throw err;
      const e = err as NodeJS.ErrnoException & { timedOut?: boolean };
      throw new TransportError(e.message ?? String(err), e.code, e.timedOut === true, { cause: err });
    }
  }

  /**
   * Resolves when every job is in one of `statuses` (default: finished), with each job's `attribs` (id and
   * status always). A job deleted meanwhile counts as finished (null in its place).
   */
  async waitFor<K extends string = "id" | "status">(
    ids: number[],
    statuses: readonly string[] = FINISHED_STATUSES,
    attribs: readonly K[] = [],
    options: WaitOptions = {},
  ): Promise<(JobWith<K | "id" | "status"> | null)[]> {
    const wanted = [...new Set(["id", "status", ...attribs])];
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    for (;;) {
      const jobs = (await this.getJobs(ids, wanted)) as (JobWith<K | "id" | "status"> | null)[];
      if (jobs.every((j) => j === null || statuses.includes(String(j.status)))) return jobs;
      if (options.signal?.aborted) throw new TransportError("waitFor aborted", undefined, false);
      if (Date.now() >= deadline)
        throw new TransportError(
          `jobs not ${statuses.join("/")} within ${options.timeoutMs} ms`,
          undefined,
          true,
        );
      await new Promise((r) => setTimeout(r, options.pollMs ?? 1000));
    }
  }

  // ---- server ---------------------------------------------------------------------------------------
  ping(): Promise<boolean> {
    return this.call("ping");
  }
  getVersion(): Promise<string> {
    return this.call("getVersion");
  }
  getServerTime(): Promise<Date> {
    return this.call("getServerTime");
  }
  getConfig(key: string): Promise<string | null> {
    return this.call("getConfig", key);
  }
  getHQRoot(platform: "linux" | "windows" | "macosx", isClient?: boolean): Promise<string | null> {
    return this.call("getHQRoot", platform, isClient);
  }
  getServerErrors(): Promise<ErrorList> {
    return this.call("getServerErrors");
  }

  // ---- jobs -----------------------------------------------------------------------------------------
  newjob(
    spec: JobSpec | JobSpec[] | string,
    parentId?: number | null,
    childIds?: number[],
  ): Promise<number[]> {
    return this.call("newjob", spec as XmlRpcValue, parentId, childIds);
  }
  runcmd(cmd: string): Promise<number> {
    return this.call("runcmd", cmd);
  }
  /** All attributes, or those asked for (typed present: `(await getJob(1, ["status"])).status`). */
  getJob(jobId: number): Promise<JobAttributes>;
  getJob<K extends string>(jobId: number, attribs: readonly K[]): Promise<JobWith<K>>;
  getJob(jobId: number, attribs?: readonly string[]): Promise<Job> {
    return this.call("getJob", jobId, attribs as string[] | undefined);
  }
  /** One entry per id, in order; None (null) for an id that does not exist (any more). */
  getJobs(jobIds: number[]): Promise<(JobAttributes | null)[]>;
  getJobs<K extends string>(jobIds: number[], attribs: readonly K[]): Promise<(JobWith<K> | null)[]>;
  getJobs(jobIds: number[], attribs?: readonly string[]): Promise<(Job | null)[]> {
    return this.call("getJobs", jobIds, attribs as string[] | undefined);
  }
  getinfo(jobId: number): Promise<Job> {
    return this.call("getinfo", jobId);
  }
  getstatus(jobId: number): Promise<string> {
    return this.call("getstatus", jobId);
  }
  getJobIdsByStatus(statuses: string | string[]): Promise<number[]> {
    return this.call("getJobIdsByStatus", statuses);
  }
  getUnfinishedRootJobIds(): Promise<number[]> {
    return this.call("getUnfinishedRootJobIds");
  }
  getFinishedRootJobIds(): Promise<number[]> {
    return this.call("getFinishedRootJobIds");
  }
  /** openhq extension: jobs (children included) whose name contains `text`, newest first, bounded scan. */
  searchJobNames(
    text: string,
    before?: number,
  ): Promise<{ ids: number[]; stoppedAt: number; scanned: number }> {
    return this.call("searchJobNames", text, before);
  }
  getNumWaitingJobs(waitTime?: number, minPriority?: number, maxPriority?: number): Promise<number> {
    return this.call("getNumWaitingJobs", waitTime, minPriority, maxPriority);
  }
  getJobOutput(jobId: number, maxLastChars?: number): Promise<string> {
    return this.call("getJobOutput", jobId, maxLastChars);
  }
  getJobHistory(clientId: number, limit?: number): Promise<number[]> {
    return this.call("getJobHistory", clientId, limit);
  }
  getJobIdsAssignedToClient(clientId: number): Promise<number[]> {
    return this.call("getJobIdsAssignedToClient", clientId);
  }
  getPermittedClientsList(jobId: number): Promise<string[]> {
    return this.call("getPermittedClientsList", jobId);
  }
  savePermittedClientsList(jobId: number, clients: string[]): Promise<null> {
    return this.call("savePermittedClientsList", jobId, clients);
  }
  setShowBlockedClientsWarning(jobId: number, state: boolean): Promise<null> {
    return this.call("setShowBlockedClientsWarning", jobId, state);
  }
  cancelJobs(jobIds: Ids): Promise<null> {
    return this.call("cancelJobs", jobIds);
  }
  pauseJobs(jobIds: Ids): Promise<null> {
    return this.call("pauseJobs", jobIds);
  }
  resumeJobs(jobIds: Ids): Promise<null> {
    return this.call("resumeJobs", jobIds);
  }
  rescheduleJobs(jobIds: Ids): Promise<null> {
    return this.call("rescheduleJobs", jobIds);
  }
  /** openhq extension: set the priority of jobs (re-sorts the queue). */
  setJobPriority(jobIds: Ids, priority: number): Promise<null> {
    return this.call("setJobPriority", jobIds, priority);
  }
  /** openhq extension: replaces a job's conditions (newjob's format; [] removes them). */
  setJobConditions(jobId: number, conditions: Condition[]): Promise<null> {
    return this.call("setJobConditions", jobId, conditions as XmlRpcValue);
  }
  ejectJobs(jobIds: Ids): Promise<null> {
    return this.call("ejectJobs", jobIds);
  }
  deleteJobs(jobIds: Ids): Promise<null> {
    return this.call("deleteJobs", jobIds);
  }

  // ---- status and event names -----------------------------------------------------------------------
  getAllJobStatusNames(): Promise<string[]> {
    return this.call("getAllJobStatusNames");
  }
  getFinishedJobStatusNames(): Promise<string[]> {
    return this.call("getFinishedJobStatusNames");
  }
  getFailedJobStatusNames(): Promise<string[]> {
    return this.call("getFailedJobStatusNames");
  }
  getSucceededStatusNames(): Promise<string[]> {
    return this.call("getSucceededStatusNames");
  }
  getRunningJobStatusNames(): Promise<string[]> {
    return this.call("getRunningJobStatusNames");
  }
  getPausedJobStatusNames(): Promise<string[]> {
    return this.call("getPausedJobStatusNames");
  }
  getWaitingJobStatusNames(): Promise<string[]> {
    return this.call("getWaitingJobStatusNames");
  }
  getUnfinishedJobStatusNames(): Promise<string[]> {
    return this.call("getUnfinishedJobStatusNames");
  }
  getStartedJobEventNames(): Promise<string[]> {
    return this.call("getStartedJobEventNames");
  }
  getRescheduledEventNames(): Promise<string[]> {
    return this.call("getRescheduledEventNames");
  }
  getResumedEventNames(): Promise<string[]> {
    return this.call("getResumedEventNames");
  }
  getPriorityChangedEventNames(): Promise<string[]> {
    return this.call("getPriorityChangedEventNames");
  }

  // ---- clients and groups ---------------------------------------------------------------------------
  getClients(clientIds?: number[] | null, attribs?: string[]): Promise<Client[]> {
    return this.call("getClients", clientIds, attribs);
  }
  getClient(clientId: number, attribs?: string[]): Promise<Client> {
    return this.call("getClient", clientId, attribs);
  }
  getClientByName(clientName: string, attribs?: string[]): Promise<Client> {
    return this.call("getClientByName", clientName, attribs);
  }
  getClientsByName(clientNames: string[], attribs?: string[]): Promise<Client[]> {
    return this.call("getClientsByName", clientNames, attribs);
  }
  getClientErrors(clientId: number): Promise<ErrorList> {
    return this.call("getClientErrors", clientId);
  }
  setdisabled(clientName: string, disabled: boolean): Promise<boolean | null> {
    return this.call("setdisabled", clientName, disabled);
  }
  /** openhq extension: replace a client's availability rules (client id or name). */
  setAvailabilityRules(client: number | string, rules: AvailabilityRule[]): Promise<boolean> {
    return this.call("setAvailabilityRules", client, rules as unknown as XmlRpcValue);
  }
  upgradeClients(clientIds: Ids): Promise<null> {
    return this.call("upgradeClients", clientIds);
  }
  /**
   * openhq extension (admin): takes machines out of the farm for good; returns the removed ids. Their
   * running frames go back to the queue, their credentials are refused; a Fault for an unknown id removes
   * nothing.
   */
  removeClients(clientIds: Ids): Promise<number[]> {
    return this.call("removeClients", clientIds);
  }
  getClientGroups(groupIds?: number[] | null, attribs?: string[]): Promise<ClientGroup[]> {
    return this.call("getClientGroups", groupIds, attribs);
  }
  getClientGroup(groupId: number, attribs?: string[]): Promise<ClientGroup> {
    return this.call("getClientGroup", groupId, attribs);
  }
  getClientGroupByName(name: string, attribs?: string[]): Promise<ClientGroup> {
    return this.call("getClientGroupByName", name, attribs);
  }
  createClientGroup(name: string): Promise<number> {
    return this.call("createClientGroup", name);
  }
  deleteClientGroup(groupId: number): Promise<null> {
    return this.call("deleteClientGroup", groupId);
  }
  addClientToGroup(groupId: number, clientId: number): Promise<null> {
    return this.call("addClientToGroup", groupId, clientId);
  }
  removeClientFromGroup(groupId: number, clientId: number): Promise<null> {
    return this.call("removeClientFromGroup", groupId, clientId);
  }

  // ---- shares (openhq extension) --------------------------------------------------------------------
  /** Every configured share, `default`, and any share with running work. */
  getShares(): Promise<Share[]> {
    return this.call("getShares");
  }
  /** Creates or changes a share (admin): weight, guarantee (slots), burst (slots or "N%"), users. */
  setShare(
    name: string,
    fields: { weight?: number; guarantee?: number; burst?: number | string; users?: string[] },
  ): Promise<boolean> {
    return this.call("setShare", name, fields);
  }
  /** Removes a share and the users mapped to it (admin). */
  removeShare(name: string): Promise<boolean> {
    return this.call("removeShare", name);
  }

  // ---- resources ------------------------------------------------------------------------------------
  getResources(resourceIds?: number[] | null): Promise<Resource[]> {
    return this.call("getResources", resourceIds);
  }
  /** openhq extension: define a resource; returns its id. */
  addResource(name: string, amount: number, perMachine?: boolean): Promise<number> {
    return this.call("addResource", name, amount, perMachine);
  }
  /** openhq extension: change a resource's amount, counting or name (omitted = unchanged). */
  setResource(
    idOrName: number | string,
    amount?: number | null,
    perMachine?: boolean | null,
    name?: string,
  ): Promise<boolean> {
    return this.call("setResource", idOrName, amount, perMachine, name);
  }
  /** openhq extension: remove a resource no running job holds. */
  removeResource(idOrName: number | string): Promise<boolean> {
    return this.call("removeResource", idOrName);
  }

  // ---- notes ----------------------------------------------------------------------------------------
  addNote(
    text: string,
    threadId?: number | null,
    jobId?: number | null,
    clientId?: number | null,
  ): Promise<boolean> {
    return this.call("addNote", text, threadId, jobId, clientId);
  }
  getNoteThreadIds(): Promise<number[]> {
    return this.call("getNoteThreadIds");
  }
  getNoteThreads(
    threadIds?: number[] | null,
    threadAttribs?: string[] | null,
    noteAttribs?: string[],
  ): Promise<NoteThread[]> {
    return this.call("getNoteThreads", threadIds, threadAttribs, noteAttribs);
  }
  getLatestNotes(threadIds?: number[] | null, attribs?: string[]): Promise<Note[]> {
    return this.call("getLatestNotes", threadIds, attribs);
  }
  threadExists(threadId: number): Promise<boolean | null> {
    return this.call("threadExists", threadId);
  }
  removeNotes(noteIds: number[]): Promise<number[]> {
    return this.call("removeNotes", noteIds);
  }
  removeSingleNote(noteId: number): Promise<boolean> {
    return this.call("removeSingleNote", noteId);
  }
  removeSingleThread(threadId: number): Promise<boolean> {
    return this.call("removeSingleThread", threadId);
  }
  removeThreads(threadIds: number[]): Promise<number[]> {
    return this.call("removeThreads", threadIds);
  }
}

/** Client of an agent's XML-RPC API (port 5001). With an agent token: http://hq:TOKEN@host:5001 */
export class HQClient {
  readonly rpc: XmlRpcClient;

  constructor(url: string) {
    this.rpc = new XmlRpcClient(url);
  }

  /** Forces an immediate heartbeat. */
  async wakeup(): Promise<void> {
    await this.rpc.call("wakeup");
  }
  /** Stops taking jobs, lets running ones finish, leaves the farm, exits. */
  async terminate(): Promise<void> {
    await this.rpc.call("terminate");
  }
}

/** The URL of an agent's port-5001 API, with the agent token as Basic auth password when given. */
export function agentUrl(host: string, token?: string, port = 5001): string {
  if (host.includes("://")) return host;
  const auth = token ? `hq:${encodeURIComponent(token)}@` : "";
  return `http://${auth}${/:\d+$/.test(host) ? host : `${host}:${port}`}`;
}
