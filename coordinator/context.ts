// What every part of a coordinator process shares: the Redis connection, the key schema, the settings.
// Built once in coordinator/main.ts and handed to each API module, the agent link and the scheduler.

import type { Redis } from "ioredis";
import type { Keys } from "./store/keys.js";

export interface ServerSettings {
  /** hqserver.activeTimeout, in minutes: a client silent this long is "not responding". */
  activeTimeoutMinutes: number;
  /** hqserver.expireJobsDays: finished root jobs older than this are deleted; 0 = never. */
  expireJobsDays: number;
  /** How often agents send heartbeats, ms. */
  heartbeatIntervalMs: number;
  /** hqserver.sharedNetwork.mount.<platform> -> HQROOT; keys "linux", "windows", "macosx". */
  sharedNetworkMount: Record<string, string>;
  /** hqserver.sharedNetwork.host / .path -> the UNC path windows clients see. */
  sharedNetworkHost: string | null;
  sharedNetworkPath: string | null;
  /** Optional shared secret agents must present in `hello`. */
  agentToken: string | null;
  /** Cap on a job's stored output, bytes (head and tail are kept). */
  maxOutputBytes: number;
  /** The URL jobs see as HQSERVER. */
  serverUrl: string;
  /** openhq.redis.waitReplicas: replicas that must confirm writes before an ack or assignment (0 = none). */
  waitReplicas?: number;
  /** Every key of the ini file, flattened as "section.key" and "key" (for getConfig). */
  raw: Record<string, string>;
}

export interface ErrorRecord {
  message: string;
  /** ms since epoch */
  time: number;
  method?: string;
  stack?: string;
}

export interface Context {
  /** Commands connection (never put into subscriber mode). */
  redis: Redis;
  keys: Keys;
  settings: ServerSettings;
  /** Appends to the bounded server error log (getServerErrors). Never throws. */
  recordError(error: ErrorRecord): Promise<void>;
}
