// Redis settings the job store is sized for. A job hash has ~20 short fields plus a few JSON values (logs,
// clients, conditions) that pass Redis' default 64-byte listpack limit, which would turn every finished job
// into a hashtable twice its size (~2.3 KB instead of ~1.1 KB per job, measured by bench/jobs.ts). Raising
// hash-max-listpack-value keeps them compact. A managed Redis that refuses CONFIG keeps working, only bigger.

import type { Redis } from "ioredis";

const LISTPACK_VALUE_BYTES = 1024;
const tuned = new WeakSet<Redis>();

/** Raises hash-max-listpack-value once per connection (never lowers it); errors are ignored. */
export async function tuneRedis(redis: Redis): Promise<void> {
  if (tuned.has(redis)) return;
  tuned.add(redis);
  try {
    const [, current] = (await redis.config("GET", "hash-max-listpack-value")) as [string, string];
    if (Number(current) < LISTPACK_VALUE_BYTES) {
      await redis.config("SET", "hash-max-listpack-value", String(LISTPACK_VALUE_BYTES));
    }
  } catch {
    // CONFIG disabled (managed Redis): jobs take more memory, nothing else changes.
  }
}
