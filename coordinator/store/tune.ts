// Redis settings the job store is sized for, set once per connection where the server's value is on the wrong
// side (a value this store needs is never undone); a managed Redis that refuses CONFIG keeps working, only
// bigger or slower.
// - hash-max-listpack-value, raised: a job hash has ~20 short fields plus a few JSON values (logs, clients,
//   conditions) that pass Redis' default 64-byte limit, which would turn every finished job into a hashtable
//   twice its size (~2.3 KB instead of ~1.1 KB per job, measured by bench/jobs.ts).
// - hash-max-listpack-entries, lowered to 64: a listpack is searched entry by entry, so finding a field among
//   100 costs some 10,000 instructions where a hashtable costs a few hundred. The hot transitions read and
//   count in hashes with a field per share ({p}shares, {p}shares:running: bench/instructions.ts with 100
//   shares, lifecycle 751.9k -> 728.8k instructions per job). Job and client hashes have fewer fields and stay
//   compact. zset-max-listpack-entries is left alone: at 64 the short jobs of bench/scale.ts cost ~4% less
//   (the running set stays small), but a finished 100-frame tree takes 23% more memory (882 -> 1,089 B a job).
import type { Redis } from "ioredis";

const SETTINGS: { name: string; value: number; raise: boolean }[] = [
  { name: "hash-max-listpack-value", value: 1024, raise: true },
  { name: "hash-max-listpack-entries", value: 64, raise: false },
];
const tuned = new WeakSet<Redis>();

/** Sets SETTINGS once per connection, each only in its direction; errors are ignored. */
export async function tuneRedis(redis: Redis): Promise<void> {
  if (tuned.has(redis)) return;
  tuned.add(redis);
  try {
    for (const { name, value, raise } of SETTINGS) {
      const [, current] = (await redis.config("GET", name)) as [string, string];
      if (raise ? Number(current) < value : Number(current) > value)
        await redis.config("SET", name, String(value));
    }
  } catch {
    // CONFIG disabled (managed Redis): jobs take more memory and some sets cost more to search.
  }
}
