// A coordinator Context built by hand, for tests that drive API methods or stores in-process against a real
// redis-server (test/support/redis.ts) instead of through a coordinator process.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Redis } from "ioredis";
import { BLADE_DEFAULTS, type Context, type ServerSettings } from "../../coordinator/context.js";
import { LogStore } from "../../coordinator/logs/index.js";
import type { Keys } from "../../coordinator/store/keys.js";
import { recordHeartbeat, registerClient } from "../../coordinator/store/clients.js";

export interface TestLogsOptions {
  /**
   * The folder: a coordinator's job_logs_dir (TestCoordinator.jobLogsDir) when the store shares that
   * coordinator's Redis and prefix, since the folder's marker ties it to the farm (coordinator/logs/marker.ts).
   * Default: a fresh temporary folder, removed when the process exits.
   */
  dir?: string;
  /**
   * Start the log sweep, as a coordinator does (default). Off where a coordinator of the farm sweeps already,
   * or where a bench counts Redis work.
   */
  sweep?: boolean;
}

const scratch: string[] = [];

/** A job log store opened as a coordinator opens it, for a JobStore or Context built outside a coordinator. */
export async function testLogs(redis: Redis, keys: Keys, opts: TestLogsOptions = {}): Promise<LogStore> {
  let folder = opts.dir;
  if (folder === undefined) {
    folder = mkdtempSync(join(tmpdir(), "openhq-job-logs-"));
    if (scratch.push(folder) === 1)
      process.once("exit", () => {
        for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
      });
  }
  const logs = await LogStore.open({ redis, keys, recordError: async () => {} }, folder, () => {});
  if (opts.sweep !== false) logs.start();
  return logs;
}

export async function testContext(
  redis: Redis,
  keys: Keys,
  settings: Partial<ServerSettings> = {},
  /** The farm's log store when the test has one already (one per key prefix and Redis). */
  logs?: LogStore,
): Promise<Context> {
  return {
    redis,
    keys,
    settings: {
      activeTimeoutMinutes: 5,
      frozenTimeoutSeconds: 0,
      maxLostAttempts: 3,
      expireJobsDays: 0,
      heartbeatIntervalMs: 1000,
      sharedNetworkMount: {},
      sharedNetworkHost: null,
      sharedNetworkPath: null,
      farmSecret: null,
      maxOutputBytes: 1024 * 1024,
      maxLogBytes: 0,
      stallTimeout: 0,
      jobLogsDir: "",
      serverUrl: "http://127.0.0.1:5000",
      blade: BLADE_DEFAULTS,
      raw: {},
      ...settings,
    },
    recordError: async () => {},
    logs: logs ?? (await testLogs(redis, keys)),
  };
}

/** A blade as its agent's hello and one heartbeat at `at` register it (no agent, no link): its client id. */
export async function registerBlade(
  ctx: Context,
  blade: { hostname: string; cpus: number; load: number; at: number; available?: boolean },
): Promise<number> {
  const hello = {
    type: "hello" as const,
    protocol: 1,
    hostname: blade.hostname,
    name: "",
    version: "test",
    platform: "linux",
    arch: "linux-x86_64",
    cpus: blade.cpus,
    cpuSpeed: 3000,
    memory: blade.cpus * 1024,
    ip: "10.0.0.1",
    clientPort: 5001,
    availabilityRules: [],
    running: [],
  };
  const id = await registerClient(ctx, hello, "test", blade.at, "10.0.0.1");
  const beat = {
    type: "heartbeat" as const,
    load: blade.load,
    idleTime: -1,
    freeMemory: 1,
    available: blade.available ?? true,
    running: [],
  };
  await recordHeartbeat(ctx, id, beat, "test", blade.at);
  return id;
}
