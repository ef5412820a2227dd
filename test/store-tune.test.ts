// The Redis settings the job store is tuned for (store/tune.ts), against a real redis-server: each is moved
// only in its direction, once per connection, and the per-share hashes a farm with many shares writes after
// start are hashtables, so the transitions find a share's field without searching 100 entries.

import { test } from "node:test";
import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import { DEFAULT_SHARE } from "../coordinator/shares.js";
import { Keys } from "../coordinator/store/keys.js";
import { writeSharesConfig } from "../coordinator/store/shares.js";
import { tuneRedis } from "../coordinator/store/tune.js";
import { testContext } from "./support/context.js";
import { startRedis } from "./support/redis.js";

async function setting(redis: Redis, name: string): Promise<number> {
  const [, value] = (await redis.config("GET", name)) as [string, string];
  return Number(value);
}

test("tuneRedis raises hash-max-listpack-value and lowers hash-max-listpack-entries, never the other way", async (t) => {
  const server = await startRedis();
  t.after(() => server.stop());
  const fresh = server.client();
  assert.equal(await setting(fresh, "hash-max-listpack-entries"), 512, "Redis 7.0's default");
  await tuneRedis(fresh);
  assert.equal(await setting(fresh, "hash-max-listpack-value"), 1024);
  assert.equal(await setting(fresh, "hash-max-listpack-entries"), 64);
  assert.equal(await setting(fresh, "zset-max-listpack-entries"), 128, "zsets are left alone");

  // An admin's settings that are already on the right side stay.
  const admin = server.client();
  await admin.config("SET", "hash-max-listpack-value", "4096");
  await admin.config("SET", "hash-max-listpack-entries", "16");
  await tuneRedis(admin);
  assert.equal(await setting(admin, "hash-max-listpack-value"), 4096);
  assert.equal(await setting(admin, "hash-max-listpack-entries"), 16);

  // Once per connection: a later change by someone else is not undone by this connection.
  await admin.config("SET", "hash-max-listpack-entries", "512");
  await tuneRedis(admin);
  assert.equal(await setting(admin, "hash-max-listpack-entries"), 512);
});

test("100 shares written after tuning are hashtables, a job hash stays a listpack", async (t) => {
  const server = await startRedis();
  t.after(() => server.stop());
  const redis = server.client();
  const keys = new Keys("t:");
  await tuneRedis(redis);
  const shares = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`s${i}`, { ...DEFAULT_SHARE }]));
  await writeSharesConfig(await testContext(redis, keys), { shares, users: {}, byUser: false, userCap: 0 });
  assert.equal(await redis.object("ENCODING", keys.shares), "hashtable");
  await redis.hset(keys.job(1), Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`f${i}`, "x"])));
  assert.equal(await redis.object("ENCODING", keys.job(1)), "listpack");
});
