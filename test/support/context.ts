// A coordinator Context built by hand, for tests that drive API methods or stores in-process against a real
// redis-server (test/support/redis.ts) instead of through a coordinator process.

import type { Redis } from "ioredis";
import { BLADE_DEFAULTS, type Context, type ServerSettings } from "../../coordinator/context.js";
import type { Keys } from "../../coordinator/store/keys.js";

export function testContext(redis: Redis, keys: Keys, settings: Partial<ServerSettings> = {}): Context {
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
      agentToken: null,
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
  };
}
