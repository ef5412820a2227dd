// The store's invariants (status sets, the queue and its requirement-class index, roots sets, children counters, progress and running
// roll-ups, the clients' job sets), shared by the random-transition test and the chaos run's final check.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { jobField, type JobRecord, type JobStore } from "../../coordinator/store/jobs.js";
import type { Keys } from "../../coordinator/store/keys.js";
import { runSeconds } from "../../coordinator/store/run-time.js";
import { normalizeFailure } from "../../shared/failure-groups.js";
import {
  FAILED_STATUSES,
  FINISHED_STATUSES,
  JOB_STATUSES,
  RUNNING_STATUSES,
  type JobStatus,
} from "../../shared/statuses.js";

const isFinished = (s: string) => (FINISHED_STATUSES as readonly string[]).includes(s);
const isRunning = (s: string) => (RUNNING_STATUSES as readonly string[]).includes(s);
const ids = (value: string | undefined): number[] =>
  value === undefined ? [] : (JSON.parse(value) as number[]);

/**
 * The requirement-class index partitions the queue, and {p}queue:heads lists each non-empty class with a
 * lower bound of its head's score (emptied classes may stay listed until pruned).
 */
async function checkClassIndex(redis: Redis, keys: Keys, step: string): Promise<void> {
  const queue = await redis.zrange(keys.queue, "0", "-1", "WITHSCORES");
  const heads = await redis.zrange(keys.queueHeads, "0", "-1", "WITHSCORES");
  let members = 0;
  for (let i = 0; i < heads.length; i += 2) {
    const cls = heads[i] as string;
    const jobs = await redis.zrange(keys.queueClass(cls), "0", "-1", "WITHSCORES");
    if (jobs.length > 0) assert.ok(Number(heads[i + 1]) <= Number(jobs[1]), `${step}: head bound of ${cls}`);
    members += jobs.length / 2;
  }
  assert.equal(members, queue.length / 2, `${step}: classes hold exactly the queue`);
  for (let i = 0; i < queue.length; i += 2) {
    const cls = (await redis.hget(keys.job(queue[i] as string), "cls")) as string;
    const score = await redis.zscore(keys.queueClass(cls), queue[i] as string);
    assert.equal(score, queue[i + 1], `${step}: job ${queue[i]} in its class with its queue score`);
  }
}

/**
 * Each parent's index of children (lua/includes/kidsIndex.lua) equals what its children say: per status the
 * children in it, the failure groups' counts and members from the failed children's lastError, the duration
 * index from the children's run times, and no index left behind by a deleted parent.
 */
async function checkKidsIndex(
  redis: Redis,
  keys: Keys,
  jobs: Map<number, JobRecord>,
  step: string,
): Promise<void> {
  const sorted = (list: unknown): number[] => (list as string[]).map(Number).sort((a, b) => a - b);
  const parents = [...jobs].filter(([, job]) => ids(job.children).length > 0);
  const read = redis.pipeline();
  for (const [id] of parents) {
    for (const s of JOB_STATUSES) read.zrange(keys.jobKids(id, s), "0", "-1");
    read.zrange(keys.jobFailures(id), "0", "-1", "WITHSCORES");
    read.zrange(keys.jobKidsTook(id), "0", "-1", "WITHSCORES");
    read.zrange(keys.jobKidsStarted(id), "0", "-1");
  }
  const replies = ((await read.exec()) ?? []).map(([err, reply]) => {
    if (err) throw err;
    return reply;
  });
  const groupReads = redis.pipeline();
  const groupTruth: [string, number[]][] = [];
  parents.forEach(([id, job], p) => {
    const at = `${step}: index of children of job ${id}`;
    const kids = ids(job.children).filter((c) => jobs.has(c));
    const base = p * (JOB_STATUSES.length + 3);
    JOB_STATUSES.forEach((s, i) => {
      const truth = kids.filter((c) => jobs.get(c)?.status === s);
      assert.deepEqual(sorted(replies[base + i]), sorted(truth), `${at}: ${s}`);
    });
    const groups = new Map<string, number[]>();
    for (const c of kids) {
      const kid = jobs.get(c) as JobRecord;
      if (!(FAILED_STATUSES as readonly string[]).includes(kid.status ?? "")) continue;
      const key = normalizeFailure(kid.lastError ?? "") || "(no message)";
      groups.set(key, [...(groups.get(key) ?? []), c]);
    }
    // The duration index: a child that ran is in took with its run seconds once finished, else in started.
    const took = new Map<number, number>();
    const started: number[] = [];
    for (const c of kids) {
      const kid = jobs.get(c) as JobRecord;
      if (kid.startTime === undefined) continue;
      if (!isFinished(kid.status ?? "")) started.push(c);
      else if (kid.endTime !== undefined)
        took.set(
          c,
          runSeconds(
            {
              start: Number(kid.startTime),
              end: Number(kid.endTime),
              pausedMs: Number(kid.pausedMs ?? 0),
              pausedAt: kid.pausedAt === undefined ? NaN : Number(kid.pausedAt),
            },
            0,
          ),
        );
    }
    const tookRead = replies[base + JOB_STATUSES.length + 1] as string[];
    const tookGot = new Map<number, number>();
    for (let i = 0; i < tookRead.length; i += 2) tookGot.set(Number(tookRead[i]), Number(tookRead[i + 1]));
    assert.deepEqual(tookGot, took, `${at}: finished children by run seconds`);
    assert.deepEqual(sorted(replies[base + JOB_STATUSES.length + 2]), sorted(started), `${at}: started`);
    const counted = replies[base + JOB_STATUSES.length] as string[];
    const got = new Map<string, number>();
    for (let i = 0; i < counted.length; i += 2) got.set(counted[i] as string, Number(counted[i + 1]));
    assert.deepEqual(got, new Map([...groups].map(([k, list]) => [k, list.length])), `${at}: failure counts`);
    for (const [key, list] of groups) {
      const group = createHash("sha1").update(key).digest("hex").slice(0, 16);
      groupReads.zrange(keys.jobFailedKids(id, group), "0", "-1");
      groupTruth.push([`${at}: failure group ${key}`, list]);
    }
  });
  ((await groupReads.exec()) ?? []).forEach(([err, reply], i) => {
    if (err) throw err;
    const [label, list] = groupTruth[i] as [string, number[]];
    assert.deepEqual(sorted(reply), sorted(list), label);
  });
  // No index outlives its parent, and a job without children has none.
  const withKids = new Set(parents.map(([id]) => id));
  const others: string[] = [];
  let cursor = "0";
  do {
    const [next, found] = await redis.scan(cursor, "MATCH", keys.job("*:*"), "COUNT", 10_000);
    cursor = next;
    for (const key of found) {
      const [parent, kind] = key.slice(keys.job("").length).split(":");
      if (kind !== "kids" && kind !== "failures" && kind !== "failed") continue;
      if (jobs.has(Number(parent)))
        assert.ok(withKids.has(Number(parent)), `${step}: ${key} on a job without children`);
      else others.push(key);
    }
  } while (cursor !== "0");
  const exists = redis.pipeline();
  for (const key of others) exists.exists(keys.job(key.slice(keys.job("").length).split(":")[0] as string));
  ((await exists.exec()) ?? []).forEach(([, n], i) =>
    assert.equal(n, 1, `${step}: ${others[i]} outlived its job`),
  );
}

/**
 * Checks that the maintained state of the jobs `all` agrees with what it summarises; `clients` are the
 * client ids whose job sets are checked; kidsIndex: false skips the parents' index of children (the costliest
 * part, which a long random run checks every few steps). Throws an AssertionError naming the job and the broken roll-up.
 */
export async function checkStoreInvariants(
  store: JobStore,
  redis: Redis,
  keys: Keys,
  all: number[],
  clients: number[],
  step: string,
  options: { kidsIndex?: boolean } = {},
): Promise<void> {
  const jobs = new Map<number, JobRecord>();
  (await store.read(all)).forEach((job, i) => {
    if (job) jobs.set(all[i] as number, job);
  });
  const queued = await store.queued();
  const queue = new Set(queued.map((q) => q.id));
  const queuedPriority = new Map(queued.map((q) => [q.id, q.priority]));
  const unfinishedRoots = new Set(await store.rootIds(false));
  const finishedRoots = new Set(await store.rootIds(true));
  const byStatus = new Map<JobStatus, Set<number>>();
  for (const s of JOB_STATUSES) byStatus.set(s, new Set(await store.idsByStatus([s])));
  const clientJobs = new Map<number, Set<number>>();
  for (const c of clients) clientJobs.set(c, new Set((await redis.smembers(keys.clientJobs(c))).map(Number)));

  await checkClassIndex(redis, keys, step);
  if (options.kidsIndex !== false) await checkKidsIndex(redis, keys, jobs, step);

  for (const [id, job] of jobs) {
    const at = `${step}: job ${id} ${JSON.stringify(job)}`;
    const status = job.status as JobStatus;
    for (const [s, set] of byStatus) assert.equal(set.has(id), s === status, `${at} in status set ${s}`);
    assert.equal(queue.has(id), status === "runnable", `${at} queue`);
    if (queue.has(id))
      assert.equal(queuedPriority.get(id), Number(jobField(job, "priority")), `${at} queue score`);
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
    for (const c of clients) {
      const expected = holds && held.some((x) => x.clientId === c);
      assert.equal(clientJobs.get(c)?.has(id), expected, `${at} client ${c} jobs`);
    }
  }
}
