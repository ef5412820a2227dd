// The shapes HQueue calls return, as openhq serves them (docs/COMPAT.md §5–§7). `Job` has every attribute
// optional (any subset may be asked for); `JobAttributes` has them all present, and `JobWith<K>` is what a
// call that asked for the attributes K returns: those present, the rest optional.

import type { XmlRpcValue } from "../xmlrpc/types.js";
import type { JobStatus } from "../statuses.js";

/** A condition as the server accepts it: `type` defaults to "client", `op` to "==" ("any" means "in"). */
export type Condition = {
  type?: "client";
  name: string;
  op?: "==" | "!=" | "in" | "not_in" | "any" | "<" | ">" | "<=" | ">=";
  /** one value, or a list (also a "a,b c;d" text) for in / not_in */
  value: string | string[];
};

/** What `newjob` accepts; only `name` is required (docs/COMPAT.md §2). */
export interface JobSpec {
  name: string;
  command?: string | Record<string, string>;
  shell?: string;
  children?: JobSpec[];
  childrenIds?: number[];
  parentIds?: number[];
  stubId?: string;
  childStubIds?: string[];
  priority?: number;
  /** a list, or one tag as a bare string */
  tags?: string | string[];
  cpus?: number;
  conditions?: Condition[];
  host?: string;
  hostgroup?: string;
  environment?: Record<string, string>;
  minHosts?: number;
  maxHosts?: number;
  maxTime?: number;
  triesLeft?: number;
  /** openhq: seconds without output before a run is killed as hung and retried; 0 = off; inherited */
  stallTimeout?: number;
  resources?: Record<string, number>;
  onSuccess?: string;
  onError?: string;
  onCancel?: string;
  onChildError?: string;
  description?: string;
  submittedBy?: string;
  emailTo?: string;
  emailReasons?: string;
}

export type JobClientRef = {
  hostname: string;
  clientId: number;
  master: boolean;
};

/** Every job attribute the server knows, present (the server answers null where HQueue has None). */
export interface KnownJobAttributes {
  id: number;
  name: string;
  status: JobStatus;
  uiStatus: string;
  priority: number;
  progress: number;
  overallProgress: number;
  ETA: number;
  children: number[];
  parents: number[];
  clients: JobClientRef[];
  clientsOnHold: JobClientRef[];
  conditions: Condition[];
  queueTime: Date | null;
  startTime: Date | null;
  endTime: Date | null;
  latestNote: string;
  logs: [string, Date][];
  resources: Record<string, number> | null;
  showBlockedClientsWarning: boolean;
  tags: string[];
  threadId: number | null;
  triesLeft: number;
  waitingFor: string;
  command: string | Record<string, string> | null;
  shell: string | null;
  cpus: number;
  environment: Record<string, string>;
  minHosts: number;
  maxHosts: number;
  maxTime: number;
  onSuccess: string | null;
  onError: string | null;
  onCancel: string | null;
  onChildError: string | null;
  description: string | null;
  submittedBy: string | null;
  emailTo: string;
  emailReasons: string;
  rootJobId: number;
  attempt: number;
  /** seconds the job's current or last run has been running, paused time excluded; null before it ran */
  runTime: number | null;
  /** the job's own stallTimeout; null = the farm's openhq.stallTimeout */
  stallTimeout: number | null;
  /** a parent's children (succeeded / not) and running / counted descendants; null for a job without children */
  /** why the latest failed attempt failed: its last output line, else its exit; null when none failed */
  lastError: string | null;
  childCounts: { children: number; done: number; bad: number; running: number; descendants: number } | null;
}

export type JobAttribute = keyof KnownJobAttributes;
/** A job with every attribute (getJob without `attribs`). */
export type JobAttributes = Job & KnownJobAttributes;

/**
 * A job as returned for the attributes `K`: those present (names the server does not know as raw values),
 * the rest optional. With K only known as `string` (a variable list), plain Job.
 */
export type JobWith<K extends string> = string extends K
  ? Job
  : Job & { [P in K]: P extends JobAttribute ? KnownJobAttributes[P] : XmlRpcValue };

export interface Job {
  id?: number;
  name?: string;
  status?: JobStatus;
  uiStatus?: string;
  priority?: number;
  progress?: number;
  overallProgress?: number;
  ETA?: number;
  children?: number[];
  parents?: number[];
  clients?: JobClientRef[];
  clientsOnHold?: JobClientRef[];
  conditions?: Condition[];
  queueTime?: Date | null;
  startTime?: Date | null;
  endTime?: Date | null;
  latestNote?: string;
  logs?: [string, Date][];
  resources?: Record<string, number> | null;
  showBlockedClientsWarning?: boolean;
  tags?: string[];
  threadId?: number | null;
  triesLeft?: number;
  waitingFor?: string;
  command?: string | Record<string, string> | null;
  shell?: string | null;
  cpus?: number;
  environment?: Record<string, string>;
  description?: string | null;
  submittedBy?: string | null;
  rootJobId?: number;
  attempt?: number;
  runTime?: number | null;
  [attribute: string]: XmlRpcValue | undefined;
}

export interface Client {
  id?: number;
  hostname?: string;
  name?: string;
  label?: string;
  availabilityRules?: XmlRpcValue[];
  available?: boolean;
  cpus?: number;
  cpuSpeed?: number;
  description?: string;
  disabled?: boolean;
  groups?: number[];
  idleTime?: number;
  ip?: string;
  lastHeartbeat?: Date | null;
  latestNote?: string;
  load?: number;
  memory?: number;
  needsUpgrade?: boolean;
  platform?: string;
  runningJobs?: number[];
  threadId?: number | null;
  version?: string;
  /** openhq: whether the agent's link is up, and since when it is down (null while connected). */
  connected?: boolean;
  disconnectedSince?: Date | null;
  /** openhq: the GPUs the agent reports, and their models in the same order. */
  gpus?: number;
  gpuModels?: string[];
  [attribute: string]: XmlRpcValue | undefined;
}

export interface ClientGroup {
  id?: number;
  name?: string;
  clients?: number[];
  [attribute: string]: XmlRpcValue | undefined;
}

export interface Resource {
  id?: number;
  name?: string;
  amount?: number;
  perMachine?: boolean;
  used?: number;
  [attribute: string]: XmlRpcValue | undefined;
}

/** openhq extension (getShares): a share, its definition and the CPU slots its running jobs hold. */
export interface Share {
  name?: string;
  weight?: number;
  guarantee?: number;
  /** "" for none, "N" slots or "N%" of the farm. */
  burst?: string;
  /** The burst maximum in slots now; None for none. */
  burstSlots?: number | null;
  running?: number;
  users?: string[];
  [attribute: string]: XmlRpcValue | undefined;
}

export interface Note {
  id?: number;
  text?: string;
  date?: Date;
  jobId?: number | null;
  clientId?: number | null;
  clientHostname?: string | null;
  clientLabel?: string | null;
  [attribute: string]: XmlRpcValue | undefined;
}

export interface NoteThread {
  id?: number;
  jobId?: number | null;
  clientId?: number | null;
  clientHostname?: string | null;
  clientLabel?: string | null;
  notes?: Note[];
  [attribute: string]: XmlRpcValue | undefined;
}

export interface ErrorList {
  total?: number;
  errors?: { [key: string]: XmlRpcValue | undefined }[];
}
