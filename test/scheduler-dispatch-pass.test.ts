// The dispatcher's pass on its own: a real Redis with the store's scripts, clients as records, no agent
// processes and no coordinator. What it delivers is what moveToAssigned assigned; settled() says when the
// passes asked for are over, so "nothing more was assigned" is checked without waiting a fixed time.

import assert from "node:assert/strict";
import { after, before, beforeEach, test } from "node:test";
import type { Redis } from "ioredis";
import { parseNewJob } from "../coordinator/api/jobspec.js";
import type { Context } from "../coordinator/context.js";
import { Dispatcher } from "../coordinator/scheduler/dispatch.js";
import { readJobInfos } from "../coordinator/scheduler/job-info.js";
import { Scripts } from "../coordinator/store/dispatch-scripts.js";
import type { JobRecord } from "../coordinator/store/jobs.js";
import { JobStore } from "../coordinator/store/jobs.js";
import { Keys } from "../coordinator/store/keys.js";
import type { XmlRpcStruct } from "../shared/xmlrpc/types.js";
import { testContext } from "./support/context.js";
import { startRedis, type TestRedis } from "./support/redis.js";

let server: TestRedis;
let redis: Redis;
let ctx: Context;
let store: JobStore;
let dispatcher: Dispatcher;
/** Job id -> the client ids it was delivered to, in delivery order. */
let delivered: Map<number, number[]>;
let round = 0;

before(async () => {
  server = await startRedis();
  redis = server.client();
});
after(async () => {
  await dispatcher?.close();
  await ctx?.logs.stop();
  await server.stop();
});

// Each test gets its own key prefix: a fresh farm on the same redis-server.
beforeEach(async () => {
  await dispatcher?.close();
  await ctx?.logs.stop();
  ctx = await testContext(redis, new Keys(`pass${++round}:`), { heartbeatIntervalMs: 60_000 });
  store = new JobStore(ctx);
  delivered = new Map();
  dispatcher = new Dispatcher(ctx, {
    scripts: new Scripts(ctx),
    deliver: (job: JobRecord) => {
      const clients = JSON.parse(job.clients ?? "[]") as { clientId: number }[];
      delivered.set(
        Number(job.id),
        clients.map((c) => c.clientId),
      );
    },
  });
});

async function blade(id: number, fields: Record<string, string> = {}): Promise<void> {
  await redis.hset(ctx.keys.client(id), { hostname: `blade${id}`, cpus: "4", platform: "linux", ...fields });
  await redis.zadd(ctx.keys.clients, id, String(id));
  await dispatcher.addClient(id);
  dispatcher.heartbeat(id, Date.now());
}

const submit = (specs: XmlRpcStruct[]) => store.addJobs(parseNewJob(specs, null, null));

async function pass(): Promise<void> {
  dispatcher.trigger();
  await dispatcher.settled();
}

test("higher priority first, then submission order; a job waits while no blade has room", async () => {
  const [low, high1, high2] = await submit([
    { name: "low", command: "x", priority: 1, cpus: 4 },
    { name: "high 1", command: "x", priority: 5, cpus: 4 },
    { name: "high 2", command: "x", priority: 5, cpus: 4 },
  ]);
  await blade(1);
  await pass();
  assert.deepEqual([...delivered.keys()], [high1]);
  await blade(2);
  await pass();
  assert.deepEqual([...delivered.keys()], [high1, high2]);
  assert.equal(await redis.hget(ctx.keys.job(low!), "status"), "runnable");
});

test("one-CPU frames pack a blade up to its CPUs, and no further", async () => {
  await submit(Array.from({ length: 6 }, (_, i) => ({ name: `f${i}`, command: "x" })));
  await blade(1);
  await pass();
  assert.equal(delivered.size, 4);
  assert.ok([...delivered.values()].every((clients) => clients.join() === "1"));
});

test("platform and conditions keep a job off a blade that cannot run it", async () => {
  const [win, gpuGroup, plain] = await submit([
    // HQueue's per-platform commands: a job with only a windows command runs on windows only.
    { name: "windows only", command: { windows: "x" } },
    {
      name: "gpu group",
      command: "x",
      conditions: [{ type: "client", name: "group", op: "==", value: "gpu_blades" }],
    },
    { name: "anywhere", command: "x" },
  ]);
  await blade(1);
  await pass();
  assert.deepEqual([...delivered.keys()], [plain]);
  for (const id of [win, gpuGroup]) assert.equal(await redis.hget(ctx.keys.job(id!), "status"), "runnable");
});

test("a disabled blade and a silent one get nothing; a blade that speaks again does", async () => {
  await submit([{ name: "one", command: "x" }]);
  await blade(1, { disabled: "1" });
  await blade(2);
  dispatcher.heartbeat(2, Date.now() - 10 * 60_000);
  await pass();
  assert.equal(delivered.size, 0);
  dispatcher.heartbeat(2, Date.now());
  await dispatcher.settled();
  assert.deepEqual([...delivered.values()], [[2]]);
});

test("a job that leaves a blade while the blade's jobs are re-read is not taken back from the reply", async () => {
  // Its release notice (the subscription) can come before the reply of a re-read begun earlier (the commands
  // connection), a reply that still lists it: taken back, it held the blade's CPUs for good, and the blade
  // took no more work while every frame waited (seen in scheduler-scale, 1 run in 15).
  const [frame] = (await submit([{ name: "frame", command: "x", cpus: 4 }])) as [number];
  await blade(1);
  await pass();
  assert.deepEqual(delivered.get(frame), [1]);
  const client = await dispatcher.addClient(1);
  assert.ok(client !== null && client.jobs.has(frame));
  const reread = dispatcher.refreshClient(1);
  dispatcher.jobLeft(1, frame);
  await reread;
  assert.equal(client.jobs.has(frame), false, "the re-read took back a job that had left");
  // The same for a client's first read, as when agents with running frames link to a coordinator just started.
  dispatcher.removeClient(1);
  const added = dispatcher.addClient(1);
  dispatcher.jobLeft(1, frame);
  assert.equal((await added)?.jobs.has(frame), false, "the first read took back a job that had left");
});

test("a multi-host job gets minHosts blades at once, or waits for them", async () => {
  const [job] = await submit([{ name: "sim", command: "x", minHosts: 2, maxHosts: 2, cpus: 4 }]);
  await blade(1);
  await pass();
  assert.equal(delivered.size, 0);
  assert.equal(await waitingFor(job!), "waiting for 1 more client(s) (1 on hold)");
  await blade(2);
  await pass();
  assert.deepEqual(delivered.get(job!)?.sort(), [1, 2]);
});

const waitingFor = (id: number) => redis.hget(ctx.keys.job(id), "waitingFor");

// moveToAssigned refuses in parts; the dispatcher words them (waiting-reasons.ts) and stores the text.
test("a refused job says why: an unknown resource, a parent at its maxRunning limit", async () => {
  const [unknown] = await submit([{ name: "licensed", command: "x", resources: { nope: 1 } }]);
  const [root, first, second] = await submit([
    {
      name: "show",
      command: "x",
      maxRunning: 1,
      children: [
        { name: "a", command: "x" },
        { name: "b", command: "x" },
      ],
    },
  ]);
  await blade(1);
  await blade(2);
  await blade(3);
  await pass();
  await pass();
  assert.equal(await waitingFor(unknown!), "waiting for resources: nope is not defined");
  assert.deepEqual([...delivered.keys()], [first]);
  assert.equal(await waitingFor(second!), `job ${root} at its maxRunning limit (1 of 1 running)`);
});

// The fit rules live in TypeScript (farm-client.ts: open and fits) for proposing, and moveToAssigned.lua
// re-checks the dynamic half in Redis before assigning. For that half the two must agree, case by case.
test("FarmClient's open/fits and moveToAssigned agree on the client's state and what it runs", async () => {
  const gpu = JSON.stringify([{ index: 0, model: "RTX", memory: 8000, freeMemory: null }]);
  const cases: {
    what: string;
    client?: Record<string, string>;
    running?: XmlRpcStruct;
    after?: Record<string, string>;
    job?: XmlRpcStruct;
  }[] = [
    { what: "an idle blade" },
    { what: "disabled", client: { disabled: "1" } },
    { what: "not available", client: { available: "0" } },
    { what: "terminated", client: { terminated: "1" } },
    { what: "held for another job", client: { heldFor: "999999" } },
    { what: "quarantined", client: { quarantinedUntil: String(Date.now() + 600_000) } },
    { what: "on probation, idle", client: { probation: "1" } },
    { what: "on probation, busy", running: { cpus: 1 }, after: { probation: "1" } },
    { what: "CPUs all taken", running: { cpus: 4 } },
    { what: "CPUs left", running: { cpus: 3 } },
    { what: "a single job runs there", running: { cpus: 1, tags: ["single"] } },
    { what: "the job is single, the blade busy", running: { cpus: 1 }, job: { tags: ["single"] } },
    { what: "its GPU is free", client: { gpuDevices: gpu, gpus: "1" }, job: { gpus: 1 } },
    {
      what: "its GPU is booked",
      client: { gpuDevices: gpu, gpus: "1" },
      running: { gpus: 1 },
      job: { gpus: 1 },
    },
  ];
  const scripts = new Scripts(ctx);
  // A closed dispatcher only keeps the view: no pass of its own takes the jobs judged here.
  const judge = new Dispatcher(ctx, { scripts, deliver: () => {} });
  await judge.close();
  for (const [k, c] of cases.entries()) {
    const cid = 100 + k;
    await redis.hset(ctx.keys.client(cid), {
      hostname: `b${cid}`,
      cpus: "4",
      platform: "linux",
      ...c.client,
    });
    if (c.running) {
      const [busy] = await submit([{ name: "busy", command: "x", ...c.running }]);
      assert.equal(((await scripts.run("moveToAssigned", busy!, cid)) as string[])[0], "assigned", c.what);
    }
    if (c.after) await redis.hset(ctx.keys.client(cid), c.after);
    const [job] = await submit([{ name: c.what, command: "x", ...c.job }]);
    const client = await judge.addClient(cid);
    const [info] = await readJobInfos(ctx, [job!]);
    const proposed = client!.open && client!.fits(info!);
    const reply = (await scripts.run("moveToAssigned", job!, cid)) as string[];
    assert.equal(reply[0] === "assigned", proposed, `${c.what}: TS ${proposed}, Lua ${reply[0]}`);
  }
});
