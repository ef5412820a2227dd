// More registered clients than the reads that walk them take at once, on a real Redis: the scheduler's list
// of registered clients (scheduler/registered.ts: 250 records a round trip, 1,000 re-read a round) and the
// minute's farm sample (web/history.ts, store/history.ts: 500 clients a round trip each way). Each must see
// every client, whatever chunk it falls in.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { RegisteredClients } from "../coordinator/scheduler/registered.js";
import { clientHistory, farmHistory } from "../coordinator/store/history.js";
import { Keys } from "../coordinator/store/keys.js";
import { sampleFarm } from "../coordinator/web/history.js";
import { registerBlade, testContext } from "./support/context.js";
import { startRedis } from "./support/redis.js";

const CLIENTS = 1200;
const server = await startRedis();
after(() => server.stop());
const redis = server.client();
const keys = new Keys("many:");
const ctx = await testContext(redis, keys);

const now = Date.now();
const ids: number[] = [];
for (let i = 1; i <= CLIENTS; i++)
  ids.push(await registerBlade(ctx, { hostname: `blade${i}`, cpus: 4, load: i / 100, at: now }));
const last = ids[CLIENTS - 1] as number;

test("the registered clients' list holds every client, and a change to any is seen within two rounds", async () => {
  const registered = new RegisteredClients(ctx);
  const first = await registered.read(new Map());
  assert.equal(first.length, CLIENTS);
  assert.deepEqual(new Set(first.map((c) => c.id)), new Set(ids));

  await redis.hset(keys.client(last), "cpus", "64");
  await registered.read(new Map());
  const second = await registered.read(new Map([[last, new Set(["gpu"])]]));
  const entry = second.find((c) => c.id === last);
  assert.equal(entry?.cpus, 64, "re-read in turn: every client within ⌈1,200 / 1,000⌉ rounds");
  assert.deepEqual([...(entry?.groups ?? [])], ["gpu"], "groups reach an entry whether re-read or not");
});

test("the minute's sample records the load of every responding client", async () => {
  assert.equal(await sampleFarm(ctx, now), true);
  const [farm] = await farmHistory(ctx, 0);
  assert.equal(farm?.clients.idle, CLIENTS);
  const loads = await Promise.all(ids.map((id) => clientHistory(ctx, id)));
  assert.equal(loads.filter((s) => s.length === 1).length, CLIENTS);
  assert.equal((await clientHistory(ctx, last))[0]?.load, 12);
});
