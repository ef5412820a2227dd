// The shapes HQueue calls return, as openhq serves them (COMPAT.md §5-§7). Every attribute is optional
// because callers may ask for a subset with `attribs`; values the server does not know are null.

import type { XmlRpcValue } from "../xmlrpc/types.js";
import type { JobStatus } from "../statuses.js";

export type Condition = {
  type: "client";
  name: string;
  op: "==" | "!=" | "in" | "not_in" | "any";
  value: string;
};

/** What `newjob` accepts; only `name` is required (COMPAT.md §2). */
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
  tags?: string[];
  cpus?: number;
  conditions?: Condition[];
  host?: string;
  hostgroup?: string;
  environment?: Record<string, string>;
  minHosts?: number;
  maxHosts?: number;
  maxTime?: number;
  triesLeft?: number;
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
  command?: string | null;
  shell?: string | null;
  cpus?: number;
  environment?: Record<string, string>;
  description?: string | null;
  submittedBy?: string | null;
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
