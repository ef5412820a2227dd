// Opens the coordinator's Redis connection: a redis:// or rediss:// URL, or Sentinel (ioredis asks the
// sentinels for the current primary and follows failovers). Commands issued while the link is down are
// queued and retried, so a Redis restart (ours or a managed one failing over) is a pause, not an error.

import { Redis, type RedisOptions } from "ioredis";
import type { RedisTarget } from "../config.js";

const COMMON: RedisOptions = {
  // Keep retrying for a while so a restart of the private redis-server does not fail callers.
  maxRetriesPerRequest: 50,
  retryStrategy: (times) => Math.min(50 * times, 1000),
  enableReadyCheck: true,
  connectionName: "openhq-coordinator",
};

export function connectRedis(target: RedisTarget): Redis {
  if (target.sentinels.length > 0) {
    const url = target.url === null ? null : new URL(target.url);
    return new Redis({
      ...COMMON,
      sentinels: target.sentinels,
      name: target.sentinelName,
      ...(url?.password ? { password: decodeURIComponent(url.password) } : {}),
      ...(url?.username ? { username: decodeURIComponent(url.username) } : {}),
      ...(url?.protocol === "rediss:" ? { tls: {}, enableTLSForSentinelMode: true } : {}),
    });
  }
  if (target.url === null) throw new Error("connectRedis: no Redis URL and no sentinels");
  return new Redis(target.url, COMMON);
}

/** Resolves once the connection answers PING; rejects after `timeoutMs`. */
export async function waitForRedis(redis: Redis, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await redis.ping();
      return;
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`Redis did not answer within ${timeoutMs} ms: ${(err as Error).message}`, {
          cause: err,
        });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
