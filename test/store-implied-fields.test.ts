// Fields a job hash no longer stores when they hold their implied value (coordinator/store/jobs.ts header):
// `id` (the key names it), `attempt` 0, a root's own `root` and a job's own treeN (1, 0 with noProg). Every reader must give what it gave when they
// were stored: getJob/getJobs over XML-RPC, the store's reads, the dashboard's job data, the notices' reports,
// the blade health API's tree, the dispatcher's roots and the `assign` message. A farm upgraded from a
// version that stored them keeps such hashes: those read the same.

import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import { parseNewJob } from "../coordinator/api/jobspec.js";
import { jobsMethods } from "../coordinator/api/jobs.js";
import type { Context } from "../coordinator/context.js";
import { readJobReports } from "../coordinator/notices/job-report.js";
import { RegisteredClients } from "../coordinator/scheduler/registered.js";
import { assignMessage, hashFromFlat } from "../coordinator/scheduler/assign.js";
import { rootOf } from "../coordinator/store/blades.js";
import { jobHash } from "../coordinator/store/job-fields.js";
import { readJobViews } from "../coordinator/store/job-view.js";
import { JobStore } from "../coordinator/store/jobs.js";
import { Keys } from "../coordinator/store/keys.js";
import { runScript } from "../coordinator/store/lua-scripts.js";
import { classPagesWithRoots } from "../coordinator/store/queue.js";
import { runningFrames } from "../coordinator/web/clients.js";
import { readJobs } from "../coordinator/web/jobs.js";
import { createXmlRpcServer } from "../shared/xmlrpc/index.js";
import { XmlRpcClient } from "../shared/xmlrpc/client.js";
import type { XmlRpcStruct, XmlRpcValue } from "../shared/xmlrpc/types.js";
import { testContext } from "./support/context.js";
import { startRedis, type TestRedis } from "./support/redis.js";

let server: TestRedis;
let redis: Redis;
let ctx: Context;
let store: JobStore;
let api: XmlRpcClient;
let stopHttp: () => void;
const keys = new Keys("t:");
const IMPLIED = ["id", "attempt", "root", "treeN"];
const CALLER = { user: "admin", role: "admin" } as const;

before(async () => {
  server = await startRedis();
  redis = server.client();
  ctx = await testContext(redis, keys);
  store = new JobStore(ctx);
  // Ids far from every small number a job's fields hold (cpus 1, priority 0…), which `everything` would rename.
  await redis.set(`${keys.prefix}ids:job`, "5000");
  const http = createXmlRpcServer(jobsMethods(ctx, new RegisteredClients(ctx)));
  http.listen(0, "127.0.0.1");
  await once(http, "listening");
  api = new XmlRpcClient(`http://127.0.0.1:${(http.address() as AddressInfo).port}`);
  stopHttp = () => {
    http.closeAllConnections();
    http.close();
  };
});
after(async () => {
  api.close();
  stopHttp();
  await ctx.logs.stop();
  await server.stop();
});

const add = (spec: XmlRpcValue, parent?: number) => store.addJobs(parseNewJob(spec, parent ?? null, null));

/**
 * The hash as an older version wrote it: with `id`, `attempt`, `root` (a root's own too) and, without
 * noProg, a treeN of at least 1.
 */
async function asStoredBefore(id: number, root = id): Promise<void> {
  const [attempt, treeN, noProg] = await redis.hmget(keys.job(id), "attempt", "treeN", "noProg");
  await redis.hset(keys.job(id), "id", String(id), "attempt", attempt ?? "0", "root", String(root));
  if (treeN === null && noProg === null) await redis.hset(keys.job(id), "treeN", "1");
}

/** Puts a runnable job on a made-up client; returns moveToAssigned's job fields. */
async function assign(jobId: number, clientId: number): Promise<Record<string, string>> {
  await redis.hset(keys.client(clientId), "hostname", `node${clientId}`, "cpus", "64");
  const reply = (await runScript(redis, keys.prefix, "moveToAssigned", [jobId, clientId])) as unknown[];
  assert.equal(reply[0], "assigned", `job ${jobId}: ${JSON.stringify(reply)}`);
  return hashFromFlat(reply[2] as string[]);
}

/** What differs between two jobs handled one after the other: their times. */
const TIMES = new Set(["queueTime", "startTime", "endTime", "logs", "ETA", "runTime", "seqAttempt"]);

/**
 * Everything the readers give of job `id`, with the ids in `names` (its own, its root's…: as numbers or in
 * text) put as their names, and the TIMES left out.
 */
async function everything(id: number, names: Record<string, number>): Promise<unknown> {
  const rename = (v: unknown): unknown => {
    for (const [label, n] of Object.entries(names)) {
      if (v === n) return label;
      if (typeof v === "string") v = v.replace(new RegExp(`\\b${n}\\b`, "g"), label);
    }
    return v;
  };
  const named = (value: unknown): unknown =>
    JSON.parse(JSON.stringify(value, (k, v: unknown) => (TIMES.has(k) ? undefined : rename(v))));
  const getJob = await api.call<XmlRpcStruct>("getJob", id);
  const getJobs = await api.call<XmlRpcStruct[]>("getJobs", [id], ["id", "rootJobId", "attempt", "runTime"]);
  const [whole] = await store.read([id]);
  const [some] = await store.read([id], ["id", "root", "attempt", "name"]);
  const [view] = await readJobViews(store, [id], undefined, CALLER);
  const dashboard = await readJobs(ctx, [id], ["id", "name", "status", "rootJobId", "attempt", "runTime"]);
  const [report] = await readJobReports(
    ctx,
    [{ type: "transition", jobId: id, status: "running", from: "runnable", at: 1 }],
    "http://farm",
  );
  return named({
    getJob,
    getJobs,
    whole,
    some,
    view,
    dashboard,
    report,
    hash: await jobHash(ctx, id),
    treeOf: await rootOf(ctx, id),
  });
}

test("a new root job stores no id, attempt, own root or treeN; every reader gives them as before", async () => {
  const [fresh, old] = await add([
    { name: "shot", command: "render", submittedBy: "ana" },
    { name: "shot", command: "render", submittedBy: "ana" },
  ]);
  const hash = await redis.hgetall(keys.job(fresh!));
  for (const field of IMPLIED) assert.equal(hash[field], undefined, `${field} not stored`);
  await asStoredBefore(old!);

  const [view] = await readJobViews(store, [fresh!], ["id", "rootJobId", "attempt", "runTime"], CALLER);
  assert.deepEqual(view, { id: fresh, rootJobId: fresh, attempt: 0, runTime: null });
  const [whole] = await store.read([fresh!]);
  assert.deepEqual(
    [whole?.id, whole?.root, whole?.attempt, whole?.treeN],
    [String(fresh), String(fresh), "0", "1"],
  );
  assert.deepEqual(await everything(fresh!, { SELF: fresh! }), await everything(old!, { SELF: old! }));

  // The dispatcher's roots, the assign message, the dashboard's running frame.
  const { roots } = await classPagesWithRoots(ctx, [
    { cls: (await redis.hget(keys.job(fresh!), "cls"))!, from: "-inf", count: 10 },
  ]);
  assert.deepEqual(roots[0], [String(fresh), String(old)]);
  const assigned = [await assign(fresh!, 700_001), await assign(old!, 700_001)];
  const messages = assigned.map((job) => assignMessage(job, 700_001, "linux", 0));
  assert.deepEqual(
    messages.map((m) => [m?.jobId, m?.rootJobId, m?.attempt]),
    [
      [fresh, fresh, 1],
      [old, old, 1],
    ],
  );
  for (const id of [fresh!, old!]) assert.equal(await store.updateProgress(id, 1, 1, 0.25), "ok");
  const [running] = await readJobViews(store, [fresh!], ["overallProgress", "progress"], CALLER);
  assert.deepEqual(running, { overallProgress: 0.25, progress: 0.25 });
  const frames = await runningFrames(ctx, [fresh!, old!]);
  assert.deepEqual(
    [
      frames.get(fresh!)?.rootId,
      frames.get(fresh!)?.rootName,
      frames.get(old!)?.rootId,
      frames.get(old!)?.rootName,
    ],
    [fresh, "", old, ""],
  );
  assert.deepEqual(await everything(fresh!, { SELF: fresh! }), await everything(old!, { SELF: old! }));
  assert.equal((await store.read([fresh!], ["attempt"]))[0]?.attempt, "1");

  // The finish: the blade's success is counted on the tree's root (the job itself).
  for (const id of [fresh!, old!])
    assert.equal(await store.moveToFinished(id, 1, 2, { exitCode: 0, signal: null, reason: "exited" }), "ok");
  assert.deepEqual(await redis.hmget(keys.job(fresh!), "status", "okOn", "id", "root"), [
    "succeeded",
    "700001",
    null,
    null,
  ]);
  assert.deepEqual(await everything(fresh!, { SELF: fresh! }), await everything(old!, { SELF: old! }));
});

test("children store their root, taken from a parent that stores none or its own", async () => {
  const tree = { name: "tree", command: "x", children: [{ name: "kid", command: "y" }] };
  const [fresh, old, freshKid, oldKid] = await add([tree, tree]);
  assert.equal(await redis.hget(keys.job(fresh!), "root"), null);
  assert.equal(await redis.hget(keys.job(freshKid!), "root"), String(fresh));
  assert.equal(await redis.hget(keys.job(freshKid!), "id"), null);
  await asStoredBefore(old!);
  await asStoredBefore(oldKid!, old!);
  assert.deepEqual(
    await everything(freshKid!, { SELF: freshKid!, ROOT: fresh! }),
    await everything(oldKid!, { SELF: oldKid!, ROOT: old! }),
  );
  assert.deepEqual(
    await everything(fresh!, { SELF: fresh!, KID: freshKid! }),
    await everything(old!, { SELF: old!, KID: oldKid! }),
  );

  assert.deepEqual(await redis.hmget(keys.job(fresh!), "treeN"), ["2"]);
  assert.deepEqual(await redis.hmget(keys.job(freshKid!), "treeN"), [null]);

  // Children added later to existing parents: a root without `root` and one with it, and a job without
  // treeN (a leaf) and one with it: the leaf parent counts itself.
  const [a, b] = await add([{ name: "a", command: "x" }], fresh!).then(async (x) => [
    ...x,
    ...(await add([{ name: "a", command: "x" }], old!)),
  ]);
  const [c, d] = await add([{ name: "c", command: "x" }], freshKid!).then(async (x) => [
    ...x,
    ...(await add([{ name: "c", command: "x" }], oldKid!)),
  ]);
  assert.deepEqual(await Promise.all([a, b, c, d].map((j) => redis.hget(keys.job(j!), "root"))), [
    String(fresh),
    String(old),
    String(fresh),
    String(old),
  ]);
  assert.deepEqual(await redis.hmget(keys.job(fresh!), "treeN"), ["4"]);
  assert.deepEqual(await redis.hmget(keys.job(freshKid!), "treeN"), ["2"]);
  const views = await readJobViews(store, [a!, b!, c!, d!], ["rootJobId"], CALLER);
  assert.deepEqual(
    views.map((v) => v?.rootJobId),
    [fresh, old, fresh, old],
  );
  assert.deepEqual(
    await classPagesWithRoots(ctx, [
      { cls: (await redis.hget(keys.job(a!), "cls"))!, from: "-inf", count: 100 },
    ]).then((r) => r.roots[0]?.slice(-4)),
    [String(fresh), String(old), String(fresh), String(old)],
  );
  for (const [mine, theirs] of [
    [
      { SELF: fresh!, KID: freshKid!, A: a!, C: c! },
      { SELF: old!, KID: oldKid!, A: b!, C: d! },
    ],
    [
      { SELF: freshKid!, ROOT: fresh!, C: c! },
      { SELF: oldKid!, ROOT: old!, C: d! },
    ],
  ] as const)
    assert.deepEqual(await everything(mine.SELF, mine), await everything(theirs.SELF, theirs));
  const [top] = await readJobViews(store, [fresh!], ["childCounts", "overallProgress"], CALLER);
  assert.deepEqual(top, {
    childCounts: { children: 2, done: 0, bad: 0, running: 0, descendants: 3 },
    overallProgress: 0,
  });
});

test("treeN: a noProg job counts 0; an attached child, a delete and a progress roll up from the implied 1", async () => {
  const quiet = { name: "quiet", command: "x", tags: "excludeProgress" };
  const [fresh, old] = await add([quiet, quiet]);
  assert.deepEqual(await redis.hmget(keys.job(fresh!), "treeN", "noProg"), [null, "1"]);
  await asStoredBefore(old!);
  assert.deepEqual(await everything(fresh!, { SELF: fresh! }), await everything(old!, { SELF: old! }));
  const [quietView] = await readJobViews(store, [fresh!], ["overallProgress", "childCounts"], CALLER);
  assert.deepEqual(quietView, { overallProgress: 0, childCounts: null });

  // A counting parent whose only child does not count keeps no treeN; deleting that child leaves it so.
  const [parent, child] = await add({ name: "p", command: "x", children: [quiet] });
  assert.deepEqual(await redis.hmget(keys.job(parent!), "treeN"), [null]);
  await assign(child!, 700_003);
  assert.equal(
    await store.moveToFinished(child!, 1, 1, { exitCode: 0, signal: null, reason: "exited" }),
    "ok",
  );
  await store.cascade("deleteJobs", [child!]);
  assert.deepEqual(await redis.hmget(keys.job(parent!), "treeN", "children"), [null, null]);

  // A leaf attached as the child of a new job, then of a new job under an old-style root; then deleted.
  const [leaf, oldLeaf] = await add([
    { name: "leaf", command: "x" },
    { name: "leaf", command: "x" },
  ]);
  await asStoredBefore(oldLeaf!);
  const [adopter] = await store.addJobs(parseNewJob({ name: "adopter", childrenIds: [leaf!] }, null, null));
  const [oldAdopter] = await store.addJobs(
    parseNewJob({ name: "adopter", childrenIds: [oldLeaf!] }, null, null),
  );
  assert.deepEqual(await redis.hmget(keys.job(adopter!), "treeN", "noProg"), ["1", "1"]);
  assert.deepEqual(await redis.hmget(keys.job(leaf!), "treeN", "root"), [null, String(adopter)]);
  assert.deepEqual(
    await everything(adopter!, { SELF: adopter!, KID: leaf! }),
    await everything(oldAdopter!, { SELF: oldAdopter!, KID: oldLeaf! }),
  );
  // The leaf's progress rolls up to its new root.
  await assign(leaf!, 700_004);
  assert.equal(await store.updateProgress(leaf!, 1, 1, 0.5), "ok");
  const [rolled] = await readJobViews(store, [adopter!], ["overallProgress", "childCounts"], CALLER);
  assert.deepEqual(rolled, {
    overallProgress: 0.5,
    childCounts: { children: 1, done: 0, bad: 0, running: 1, descendants: 1 },
  });
  assert.equal(
    await store.moveToFinished(leaf!, 1, 2, { exitCode: 0, signal: null, reason: "exited" }),
    "ok",
  );
  assert.equal((await readJobViews(store, [adopter!], ["status"], CALLER))[0]?.status, "succeeded");
  await store.cascade("deleteJobs", [leaf!]);
  assert.deepEqual(await redis.hmget(keys.job(adopter!), "treeN"), ["0"]);
  const [after] = await readJobViews(store, [adopter!], ["overallProgress", "childCounts"], CALLER);
  assert.deepEqual(after, { overallProgress: 1, childCounts: null });
});
