// moveToAssigned takes several jobs in one FCALL (store/lua-scripts.ts ScriptBatch): the calls made in one
// tick go together, each caller gets its own job's reply as a call of its own would give, and one job's
// refusal or error reaches only its own caller. Against a real redis-server.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { parseNewJob } from "../coordinator/api/jobspec.js";
import { Scripts } from "../coordinator/store/dispatch-scripts.js";
import { MAX_BATCH } from "../coordinator/store/lua-scripts.js";
import { startJobsHarness, type JobsHarness } from "./jobs-support.js";

let h: JobsHarness;
let scripts: Scripts;
before(async () => {
  h = await startJobsHarness();
  scripts = new Scripts(h);
});
after(async () => {
  await h.stop();
});

const add = async (n: number) =>
  h.store.addJobs(
    parseNewJob(
      Array.from({ length: n }, (_, i) => ({ name: `b${i}`, command: "x" })),
      null,
      null,
    ),
  );

async function blade(id: number, cpus = 64): Promise<number> {
  await h.redis.hset(h.keys.client(id), "hostname", `node${id}`, "cpus", String(cpus));
  return id;
}

/** FCALLs Redis ran while `during` ran. */
async function fcalls(during: () => Promise<unknown>): Promise<number> {
  const count = async () =>
    Number(/cmdstat_fcall:calls=(\d+)/.exec(await h.redis.info("commandstats"))?.[1] ?? 0);
  const before = await count();
  await during();
  return (await count()) - before;
}

const done = { exitCode: 0, signal: null, reason: "exited" } as const;

test("assignments issued in one tick run in one call, each with its own reply", async () => {
  const [a, b, c] = (await add(3)) as [number, number, number];
  const one = await blade(7001, 1);
  const big = await blade(7002);
  let replies: unknown[][] = [];
  const calls = await fcalls(async () => {
    replies = await Promise.all([
      scripts.moveToAssigned(a, [one]),
      // The one-CPU blade is full by now: the job before it in the same call took its slot.
      scripts.moveToAssigned(b, [one]),
      scripts.moveToAssigned(a, [big]),
      scripts.moveToAssigned(c, [big]),
      scripts.moveToAssigned(999_999_999, [big]),
    ]);
  });
  assert.equal(calls, 1);
  assert.deepEqual(
    replies.map((r) => r[0]),
    ["assigned", "busy", "gone", "assigned", "gone"],
  );
  assert.equal(replies[1]?.[1], String(one));
  assert.equal(replies[0]?.[1], 1);
  // The job's fields as its `assign` message needs them, as a call of its own gives.
  const fields = replies[3]?.[2] as string[];
  assert.equal(fields[fields.indexOf("id") + 1], String(c));
  assert.equal(fields[fields.indexOf("command") + 1], "x");
  assert.deepEqual(JSON.parse(fields[fields.indexOf("clients") + 1] as string), [
    { hostname: `node${big}`, clientId: big, master: true },
  ]);
});

test("an error in one job's step reaches only its caller; the jobs around it are applied", async () => {
  const [a, broken, c] = (await add(3)) as [number, number, number];
  const cid = await blade(7004);
  // A field no script ever writes so: decoding it fails inside that job's step.
  await h.redis.hset(h.keys.job(broken), "tags", "{not json");
  const settled = await Promise.allSettled([
    scripts.moveToAssigned(a, [cid]),
    scripts.moveToAssigned(broken, [cid]),
    scripts.moveToAssigned(c, [cid]),
  ]);
  assert.equal((settled[0] as PromiseFulfilledResult<unknown[]>).value[0], "assigned");
  assert.equal(settled[1]?.status, "rejected");
  assert.match(String((settled[1] as PromiseRejectedResult).reason), /invalid token/);
  assert.equal((settled[2] as PromiseFulfilledResult<unknown[]>).value[0], "assigned");
});

test(`more than ${MAX_BATCH} in one tick are split into calls of at most ${MAX_BATCH}`, async () => {
  const n = MAX_BATCH * 2 + 5;
  const ids = await add(n);
  const cid = await blade(7005, 10_000);
  let replies: unknown[][] = [];
  const calls = await fcalls(async () => {
    replies = await Promise.all(ids.map((id) => scripts.moveToAssigned(id, [cid])));
  });
  assert.equal(calls, 3);
  assert.ok(replies.every((r) => r[0] === "assigned"));
  const results = await Promise.all(ids.map((id) => h.store.moveToFinished(id, 1, 1, done)));
  assert.ok(results.every((r) => r === "ok"));
  assert.equal(await h.redis.scard(h.keys.clientJobs(cid)), 0);
});

test("a share's burst holds within one call: the slots taken earlier in it count", async () => {
  await h.redis.hset(h.keys.shares, "lit", JSON.stringify({ weight: 1, burst: 2 }));
  const spec = Array.from({ length: 3 }, (_, i) => ({ name: `lit${i}`, command: "x", share: "lit" }));
  const ids = await h.store.addJobs(parseNewJob(spec, null, null));
  const cid = await blade(7006);
  const replies = await Promise.all(ids.map((id) => scripts.moveToAssigned(id, [cid])));
  assert.deepEqual(
    replies.map((r) => r[0]),
    ["assigned", "assigned", "capped"],
  );
  assert.deepEqual(replies[2]?.slice(1, 5), ["burst", "lit", 2, 2]);
  assert.equal(await h.redis.hget(h.keys.sharesRunning, "lit"), "2");
});
