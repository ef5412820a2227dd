// Waiting reasons at submit (scheduler/reasons.ts) judge against the registered clients the scheduler's last
// round kept (scheduler/registered.ts): a newjob reads no client record, however many blades are idle.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { parseNewJob } from "../coordinator/api/jobspec.js";
import { SubmitReasons } from "../coordinator/scheduler/reasons.js";
import { RegisteredClients } from "../coordinator/scheduler/registered.js";
import { Keys } from "../coordinator/store/keys.js";
import { testContext } from "./support/context.js";
import { startRedis } from "./support/redis.js";

const server = await startRedis();
after(() => server.stop());
const redis = server.client();
const keys = new Keys("t:");
const ctx = await testContext(redis, keys);

/** Client records reads, as Redis counts them (HGETALL is how readClients reads one). */
async function clientReads(): Promise<number> {
  const info = await redis.info("commandstats");
  return Number(/^cmdstat_hgetall:calls=(\d+)/m.exec(info)?.[1] ?? 0);
}

test("newjob's reasons read no client record while the scheduler's round is fresh", async () => {
  const m = redis.multi();
  for (let id = 1; id <= 200; id++) {
    m.hset(keys.client(id), "hostname", `idle${id}`, "name", "", "platform", "linux", "cpus", "4");
    m.zadd(keys.clients, id, String(id));
  }
  await m.exec();
  const registered = new RegisteredClients(ctx);
  const reasons = new SubmitReasons(ctx, registered);
  // The scheduler's maintenance round (scheduler/index.ts) reads them once.
  await registered.read(new Map());
  await redis.config("RESETSTAT");

  const jobs = parseNewJob(
    [
      { name: "fits", command: "true", cpus: 2 },
      { name: "too big", command: "true", cpus: 64 },
    ],
    null,
    null,
  );
  for (let call = 0; call < 50; call++) await reasons.mark(jobs);
  assert.equal(await clientReads(), 0, "no client record read by 50 newjob calls");
  assert.equal(jobs[0]?.fields.waitingFor, undefined);
  assert.equal(jobs[1]?.fields.waitingFor, "needs 64 CPUs; largest blade has 4");
  assert.equal(jobs[1]?.fields.showBlockedClientsWarning, "1");

  // A blade registers: the next newjob sees it at once (the client count changed), reading only the new one.
  await redis.hset(keys.client(201), "hostname", "big", "name", "", "platform", "linux", "cpus", "64");
  await redis.zadd(keys.clients, 201, "201");
  const next = parseNewJob([{ name: "too big no more", command: "true", cpus: 64 }], null, null);
  await reasons.mark(next);
  assert.equal(next[0]?.fields.waitingFor, undefined);
  assert.ok((await clientReads()) <= 201, "one round: the new record and the known ones in turn");
});

test("without a scheduler's recent round, the reasons read one round themselves, once for many calls", async () => {
  const registered = new RegisteredClients(ctx);
  const reasons = new SubmitReasons(ctx, registered);
  await redis.config("RESETSTAT");
  const jobs = parseNewJob([{ name: "too big", command: "true", cpus: 128 }], null, null);
  await Promise.all(Array.from({ length: 20 }, () => reasons.mark(jobs)));
  assert.equal(await clientReads(), 201, "each of the 201 clients read once");
  assert.equal(jobs[0]?.fields.waitingFor, "needs 128 CPUs; largest blade has 64");
});
