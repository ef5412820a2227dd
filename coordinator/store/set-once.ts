// A value the first of several coordinators decides and the others adopt (the farm secret, the log folder's
// marker): SET NX, else read what the first one stored.

import type { Redis } from "ioredis";

/** Stores `value` at `key` unless it holds one: returns the value kept there and whether it is `value`. */
export async function setOnce(
  redis: Redis,
  key: string,
  value: string,
): Promise<{ kept: string; created: boolean }> {
  const created = (await redis.set(key, value, "NX")) === "OK";
  return { kept: created ? value : ((await redis.get(key)) ?? value), created };
}
