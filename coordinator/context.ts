// What every part of a coordinator process shares: the Redis connection, the key schema, the settings.
// Built once in coordinator/main.ts and handed to each API module, the agent link and the scheduler.

import type { Redis } from "ioredis";
import type { LogStore } from "./logs/index.js";
import type { Keys } from "./store/keys.js";
import type { SharesConfig } from "./shares.js";

export interface ServerSettings {
  /** hqserver.activeTimeout, in minutes: a client silent this long loses its jobs (as lost). */
  activeTimeoutMinutes: number;
  /** openhq.frozenTimeout, seconds: a client whose link is up but that sent no heartbeat this long loses its
   * jobs as lost (link/blade-lost.ts); 0 = only activeTimeout does. */
  frozenTimeoutSeconds: number;
  /** openhq.maxLostAttempts: a job whose runs ended this many times with their machine lost is abandoned. */
  maxLostAttempts: number;
  /** hqserver.expireJobsDays: finished root jobs older than this are deleted; 0 = never. */
  expireJobsDays: number;
  /** How often agents send heartbeats, ms. */
  heartbeatIntervalMs: number;
  /** hqserver.sharedNetwork.mount.<platform> -> HQROOT; keys "linux", "windows", "macosx". */
  sharedNetworkMount: Record<string, string>;
  /** hqserver.sharedNetwork.host / .path -> the UNC path windows clients see. */
  sharedNetworkHost: string | null;
  sharedNetworkPath: string | null;
  /** The farm secret every agent presents in `hello` (openhq.farmSecret; generated at first start when unset). */
  farmSecret: string | null;
  /** Where a generated farm secret is kept (<dataDir>/farm-secret); unset when it is configured. */
  farmSecretFile?: string | null;
  /** Cap on one attempt's output, bytes; 0 = none (the default: logs are kept whole). */
  maxOutputBytes: number;
  /** Quota of the whole job log store, compressed bytes; 0 = none. */
  maxLogBytes: number;
  /** job_logs_dir: the folder of the job log store (shared by every coordinator of the farm). */
  jobLogsDir: string;
  /** openhq.stallTimeout: seconds without output before a run counts as hung, for jobs that set none; 0 = off. */
  stallTimeout: number;
  /** The URL jobs see as HQSERVER. */
  serverUrl: string;
  /** HTTPS with a certificate agents cannot check with their system's CAs: install lines take --ca-file. */
  tlsPrivateCa?: boolean;
  /** openhq.redis.waitReplicas: replicas that must confirm writes before an ack or assignment (0 = none). */
  waitReplicas?: number;
  /** openhq.maxOutputSocketsPerUser: live-output sockets per user (or address without a login); default 16. */
  maxOutputSocketsPerUser?: number;
  /** Bad-blade handling, openhq.blade.* (docs/DESIGN.md "Bad blades"). */
  blade: BladeSettings;
  /** openhq.link.sentAssigns: attempts one agent link remembers as sent (absent = SENT_ASSIGNS_PER_LINK). */
  sentAssignsPerLink?: number;
  /** Read sizes of dispatch and the waiting-reasons round, openhq.dispatch.* (absent = the defaults). */
  dispatch?: DispatchSettings;
  /** Shares, openhq.fairShare and openhq.maxRunningPerUser (coordinator/shares.ts); absent = none. */
  shares?: SharesConfig;
  /** Every key of the ini file, flattened as "section.key" and "key" (for getConfig). */
  raw: Record<string, string>;
}

export interface BladeSettings {
  /** Failures of one job tree's frames on one blade before it is blocklisted for the tree; 0 = never. */
  jobFailures: number;
  /** Failed frames within the window (of >= 2 trees that succeed elsewhere) that quarantine a blade; 0 = never. */
  quarantineFailures: number;
  quarantineWindowS: number;
  /** Seconds of quarantine before probation (one frame at a time until one succeeds). */
  probationS: number;
  /** The most blades in quarantine at once, in % of the farm's registered blades (at least one). */
  quarantineMaxPercent: number;
}

export interface DispatchSettings {
  /** Requirement classes a dispatch pass reads a page. */
  headsPage: number;
  /** Jobs of one class a dispatch pass reads a page. */
  classPage: number;
  /** Queued jobs the waiting-reasons round walks at most. */
  reasonsWalk: number;
  /** Time between the scheduler's maintenance rounds (groups, waiting reasons, stale holds), in ms. */
  maintenanceMs: number;
}

/**
 * The default of openhq.link.sentAssigns: attempts one agent link remembers as sent (link/connection.ts
 * sentAssigns), about 20 × a 500-slot blade's running jobs; past it, the oldest go.
 */
export const SENT_ASSIGNS_PER_LINK = 10_000;

/** The defaults of openhq.dispatch.* (coordinator/config.ts). */
export const DISPATCH_DEFAULTS: DispatchSettings = {
  headsPage: 128,
  classPage: 64,
  reasonsWalk: 1000,
  maintenanceMs: 3000,
};

/** The defaults of openhq.blade.* (coordinator/config.ts). */
export const BLADE_DEFAULTS: BladeSettings = {
  jobFailures: 2,
  quarantineFailures: 4,
  quarantineWindowS: 1800,
  probationS: 900,
  quarantineMaxPercent: 10,
};

export interface ErrorRecord {
  message: string;
  /** ms since epoch */
  time: number;
  method?: string;
  stack?: string;
  /**
   * Who outside caused it (e.g. "agent hello from 10.0.0.7"): records with a source are rate-limited per
   * source and in all, so no caller can wipe the list. Not stored.
   */
  source?: string;
}

export interface Context {
  /** Commands connection (never put into subscriber mode). */
  redis: Redis;
  keys: Keys;
  settings: ServerSettings;
  /** The job log store (coordinator/logs), opened by main.ts before serving. */
  logs: LogStore;
  /** Appends to the bounded server error log (getServerErrors). Never throws. */
  recordError(error: ErrorRecord): Promise<void>;
}
