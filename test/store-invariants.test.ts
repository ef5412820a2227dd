// Random sequences of job transitions (seeded), after each of which the maintained state must agree with
// what it summarises: status sets, the queue, roots sets, children counters, progress and running roll-ups,
// and the clients' job sets. STORE_SEED=<n> replays a run.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { parseNewJob } from "../coordinator/api/jobspec.js";
import { jobField, type JobRecord } from "../coordinator/store/jobs.js";
import { runScript } from "../coordinator/store/scripts.js";
import { FINISHED_STATUSES, JOB_STATUSES, RUNNING_STATUSES, type JobStatus } from "../shared/statuses.js";
import type { XmlRpcStruct } from "../shared/xmlrpc/types.js";
import { startJobsHarness, type JobsHarness } from "./jobs-support.js";

const SEED = Number(process.env["STORE_SEED"] ?? Date.now() % 1_000_000);
const STEPS = Number(process.env["STORE_STEPS"] ?? 300);
const CLIENTS = [1, 2, 3];

let h: JobsHarness;
before(async () => {
  h = await startJobsHarness({ maxOutputBytes: 256 });
  for (const c of CLIENTS) {
    await h.redis.hset(h.keys.client(c), "hostname", `node${c}`, "cpus", "1000");
  }
});
after(async () => {
  await h.stop();
});

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

const isFinished = (s: string) => (FINISHED_STATUSES as readonly string[]).includes(s);
const isRunning = (s: string) => (RUNNING_STATUSES as readonly string[]).includes(s);
const ids = (value: string | undefined): number[] =>
  value === undefined ? [] : (JSON.parse(value) as number[]);

/**
 * The requirement-class index partitions the queue, and {p}queue:heads lists each non-empty class with a
 * lower bound of its head's score (emptied classes may stay listed until pruned).
 */
async function checkClassIndex(step: string): Promise<void> {
  const queue = await h.redis.zrange(h.keys.queue, "0", "-1", "WITHSCORES");
  const heads = await h.redis.zrange(h.keys.queueHeads, "0", "-1", "WITHSCORES");
  let members = 0;
  for (let i = 0; i < heads.length; i += 2) {
    const cls = heads[i] as string;
    const jobs = await h.redis.zrange(h.keys.queueClass(cls), "0", "-1", "WITHSCORES");
    if (jobs.length > 0) assert.ok(Number(heads[i + 1]) <= Number(jobs[1]), `${step}: head bound of ${cls}`);
    members += jobs.length / 2;
  }
  assert.equal(members, queue.length / 2, `${step}: classes hold exactly the queue`);
  for (let i = 0; i < queue.length; i += 2) {
    const cls = (await h.redis.hget(h.keys.job(queue[i] as string), "cls")) as string;
    const score = await h.redis.zscore(h.keys.queueClass(cls), queue[i] as string);
    assert.equal(score, queue[i + 1], `${step}: job ${queue[i]} in its class with its queue score`);
  }
}

async function checkInvariants(all: number[], step: string): Promise<void> {
  const jobs = new Map<number, JobRecord>();
  (await h.store.read(all)).forEach((job, i) => {
    if (job) jobs.set(all[i] as number, job);
  });
  const queued = await h.store.queued();
  const queue = new Set(queued.map((q) => q.id));
  const queuedPriority = new Map(queued.map((q) => [q.id, q.priority]));
  const unfinishedRoots = new Set(await h.store.rootIds(false));
  const finishedRoots = new Set(await h.store.rootIds(true));
  const byStatus = new Map<JobStatus, Set<number>>();
  for (const s of JOB_STATUSES) byStatus.set(s, new Set(await h.store.idsByStatus([s])));
  const clientJobs = new Map<number, Set<number>>();
  for (const c of CLIENTS)
    clientJobs.set(c, new Set((await h.redis.smembers(h.keys.clientJobs(c))).map(Number)));

  await checkClassIndex(step);

  for (const [id, job] of jobs) {
    const at = `${step}: job ${id} ${JSON.stringify(job)}`;
    const status = job.status as JobStatus;
    for (const [s, set] of byStatus) assert.equal(set.has(id), s === status, `${at} in status set ${s}`);
    assert.equal(queue.has(id), status === "runnable", `${at} queue`);
    if (queue.has(id)) assert.equal(queuedPriority.get(id), Number(job.priority), `${at} queue score`);
    const kids = ids(job.children)
      .map((c) => jobs.get(c))
      .filter((k): k is JobRecord => k !== undefined);
    assert.equal(Number(jobField(job, "nKids")), kids.length, `${at} nKids`);
    const left = kids.filter((k) => !isFinished(k.status ?? "")).length;
    const bad = kids.filter((k) => isFinished(k.status ?? "") && k.status !== "succeeded").length;
    assert.equal(Number(jobField(job, "kidsLeft")), left, `${at} kidsLeft`);
    assert.equal(Number(jobField(job, "kidsBad")), bad, `${at} kidsBad`);
    if (status === "queued") assert.ok(left > 0, `${at} queued without children`);
    if (status === "runnable") assert.equal(left, 0, `${at} runnable with unfinished children`);
    const self = job.noProg === "1" ? 0 : 1;
    const treeN = kids.reduce((n, k) => n + Number(jobField(k, "treeN")), self);
    assert.equal(Number(jobField(job, "treeN")), treeN, `${at} treeN`);
    const treeP = kids.reduce(
      (p, k) => p + Number(jobField(k, "treeP")),
      self * Number(jobField(job, "progress")),
    );
    assert.ok(Math.abs(Number(jobField(job, "treeP")) - treeP) < 1e-6, `${at} treeP ${treeP}`);
    const treeRun = kids.reduce(
      (n, k) => n + Number(jobField(k, "treeRun")) + (isRunning(k.status ?? "") ? 1 : 0),
      0,
    );
    assert.equal(Number(jobField(job, "treeRun")), treeRun, `${at} treeRun`);
    const root = job.parents === undefined;
    assert.equal(unfinishedRoots.has(id), root && !isFinished(status), `${at} unfinished roots`);
    assert.equal(finishedRoots.has(id), root && isFinished(status), `${at} finished roots`);
    const holds = isRunning(status) || (status === "paused" && job.pausedRunning === "1");
    const held = job.clients === undefined ? [] : (JSON.parse(job.clients) as { clientId: number }[]);
    for (const c of CLIENTS) {
      const expected = holds && held.some((x) => x.clientId === c);
      assert.equal(clientJobs.get(c)?.has(id), expected, `${at} client ${c} jobs`);
    }
  }
}

test(`random transitions keep every roll-up consistent (STORE_SEED=${SEED})`, async () => {
  const random = rng(SEED);
  const pick = <T>(list: T[]): T | undefined => list[Math.floor(random() * list.length)];
  const all: number[] = [];
  const statusOf = async (id: number) => (await h.redis.hget(h.keys.job(id), "status")) ?? "";
  const withStatus = async (wanted: (s: string) => boolean) => {
    const out: number[] = [];
    for (const id of all) if (wanted(await statusOf(id))) out.push(id);
    return out;
  };
  const tree = (depth: number): XmlRpcStruct => {
    const spec: XmlRpcStruct = { name: `j${depth}`, priority: Math.floor(random() * 3) };
    if (random() < 0.8) spec.command = "run";
    if (random() < 0.2) spec.triesLeft = 1;
    if (random() < 0.2) spec.onChildError = "notify";
    if (random() < 0.1) spec.tags = ["excludeProgress"];
    if (random() < 0.3) spec.cpus = 1 + Math.floor(random() * 2);
    if (depth < 3 && random() < 0.6) {
      spec.children = Array.from({ length: 1 + Math.floor(random() * 3) }, () => tree(depth + 1));
    }
    return spec;
  };

  for (let step = 0; step < STEPS; step++) {
    const roll = random();
    let label: string;
    if (roll < 0.15 || all.length === 0) {
      const parents = await withStatus((s) => s === "queued" || s === "running");
      const parent = random() < 0.3 ? pick(parents) : undefined;
      label = `add under ${parent}`;
      all.push(...(await h.store.addJobs(parseNewJob(tree(0), parent ?? null, null))));
    } else if (roll < 0.4) {
      const job = pick(await withStatus((s) => s === "runnable"));
      if (job === undefined) continue;
      label = `assign ${job}`;
      await runScript(h.redis, h.keys.prefix, "moveToAssigned", [job, pick(CLIENTS) as number]);
    } else if (roll < 0.6) {
      const job = pick(await withStatus(isRunning));
      if (job === undefined) continue;
      const attempt = Number(await h.redis.hget(h.keys.job(job), "attempt"));
      const exitCode = random() < 0.75 ? 0 : 1;
      label = `finish ${job} with ${exitCode}`;
      if (random() < 0.5) await h.store.updateProgress(job, attempt, 100 + step, random());
      await h.store.moveToFinished(job, attempt, 1000 + step, { exitCode, signal: null, reason: "exited" });
    } else if (roll < 0.65) {
      const job = pick(await withStatus(isRunning));
      if (job === undefined) continue;
      label = `abandon ${job}`;
      await h.store.moveToAbandoned(job, Number(await h.redis.hget(h.keys.job(job), "attempt")));
    } else if (roll < 0.7) {
      const job = pick(await withStatus((s) => s === "pausing" || s === "resuming"));
      if (job === undefined) continue;
      const attempt = Number(await h.redis.hget(h.keys.job(job), "attempt"));
      label = `confirm ${job}`;
      if ((await statusOf(job)) === "pausing") await h.store.confirmPaused(job, attempt, 2000 + step);
      else await h.store.confirmResumed(job, attempt, 2000 + step);
    } else if (roll < 0.75) {
      const job = pick(all);
      if (job === undefined) continue;
      const priority = Math.floor(random() * 5);
      label = `priority ${priority} for ${job}`;
      await h.store.setPriority([job], priority);
    } else if (roll < 0.8) {
      const job = pick(all);
      if (job === undefined) continue;
      const host = Math.floor(random() * 3);
      const conditions = [{ type: "client", name: "hostname", op: "in", value: `node${host}` }];
      label = `conditions host ${host} for ${job}`;
      await h.store.setFields(job, { conditions: host === 0 ? "" : JSON.stringify(conditions) });
    } else {
      const job = pick(all);
      if (job === undefined) continue;
      const op = pick([
        "cancelJobs",
        "pauseJobs",
        "resumeJobs",
        "ejectJobs",
        "rescheduleJobs",
        "deleteJobs",
      ] as const)!;
      label = `${op} ${job}`;
      if (op === "deleteJobs" && !isFinished(await statusOf(job))) continue;
      if (op === "deleteJobs") {
        await h.store.cascade(op, [job]);
        for (let i = all.length - 1; i >= 0; i--)
          if ((await statusOf(all[i] as number)) === "") all.splice(i, 1);
      } else await h.store.cascade(op, [job]);
    }
    if (process.env["STORE_TRACE"]) console.error(`step ${step}: ${label}`);
    await checkInvariants(all, `step ${step} (${label})`);
  }
});
