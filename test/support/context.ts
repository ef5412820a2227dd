// A coordinator Context built by hand, for tests that drive API methods or stores in-process against a real
// redis-server (test/support/redis.ts) instead of through a coordinator process.

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Redis } from "ioredis";
import { BLADE_DEFAULTS, type Context, type ServerSettings } from "../../coordinator/context.js";
import { LogStore } from "../../coordinator/logs/index.js";
import type { Keys } from "../../coordinator/store/keys.js";

/** A job log store in `dir` (a fresh temporary folder by default), opened and started as a coordinator does. */
export async function testLogs(redis: Redis, keys: Keys, dir?: string): Promise<LogStore> {
  const folder = dir ?? mkdtempSync(join(tmpdir(), "openhq-job-logs-"));
  const logs = await LogStore.open({ redis, keys, recordError: async () => {} }, folder, () => {});
  logs.start();
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
