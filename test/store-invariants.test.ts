// Random sequences of job transitions (seeded), after each of which the maintained state must agree with
// what it summarises: status sets, the queue, roots sets, children counters, progress and running roll-ups,
// each parent's index of children (by status and failure message), and the clients' job sets. STORE_SEED=<n> replays a run.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { parseNewJob } from "../coordinator/api/jobspec.js";
import { runScript } from "../coordinator/store/lua-scripts.js";
import { FINISHED_STATUSES, RUNNING_STATUSES } from "../shared/statuses.js";
import type { XmlRpcStruct } from "../shared/xmlrpc/types.js";
import { startJobsHarness, type JobsHarness } from "./jobs-support.js";
import { checkStoreInvariants } from "./support/store-invariants.js";
import { rng } from "./support/rng.js";

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

const isFinished = (s: string) => (FINISHED_STATUSES as readonly string[]).includes(s);
const isRunning = (s: string) => (RUNNING_STATUSES as readonly string[]).includes(s);

const checkInvariants = (all: number[], step: string, kidsIndex = true): Promise<void> =>
  checkStoreInvariants(h.store, h.redis, h.keys, all, CLIENTS, step, { kidsIndex });

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
      // Now and then a new root adopts existing roots as its children (newjob's child_ids; roots only, so
      // the tree stays a tree, which the roll-up sums here assume).
      const roots = parent === undefined && random() < 0.2 ? await h.store.rootIds(false) : [];
      const children = [...new Set([pick(roots), pick(roots)])].filter((c): c is number => c !== undefined);
      label = `add under ${parent}${children.length > 0 ? ` adopting ${children.join(",")}` : ""}`;
      all.push(
        ...(await h.store.addJobs(
          parseNewJob(tree(0), parent ?? null, children.length > 0 ? children : null),
        )),
      );
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
      if (random() < 0.5) await h.store.updateProgress(job, attempt, await h.nextSeq(job, attempt), random());
      await h.store.moveToFinished(job, attempt, await h.nextSeq(job, attempt), {
        exitCode,
        signal: null,
        reason: "exited",
      });
    } else if (roll < 0.65) {
      const job = pick(await withStatus(isRunning));
      if (job === undefined) continue;
      label = `lose ${job}`;
      await h.store.moveToLost(job, Number(await h.redis.hget(h.keys.job(job), "attempt")), "node", "gone");
    } else if (roll < 0.7) {
      const job = pick(await withStatus((s) => s === "pausing" || s === "resuming"));
      if (job === undefined) continue;
      const attempt = Number(await h.redis.hget(h.keys.job(job), "attempt"));
      label = `confirm ${job}`;
      if ((await statusOf(job)) === "pausing")
        await h.store.confirmPaused(job, attempt, await h.nextSeq(job, attempt));
      else await h.store.confirmResumed(job, attempt, await h.nextSeq(job, attempt));
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
    await checkInvariants(all, `step ${step} (${label})`, step % 5 === 4 || step === STEPS - 1);
  }
});

test("a tree larger than one addJobs call is cut across calls: one call's state, and parents wait for frames made later", async () => {
  // Breadth-first: the show, 1,100 shots, 20 frames under the first 10 shots: 1,121 jobs in 3 calls of 500.
  const shots = Array.from({ length: 1100 }, (_, i) => ({
    name: `shot${i}`,
    command: "run",
    conditions: [{ type: "client", name: "hostname", op: "any", value: "node1,node2" }],
    ...(i < 10
      ? {
          children: [
            { name: `a${i}`, command: "run" },
            { name: `b${i}`, command: "run" },
          ],
        }
      : {}),
  }));
  const ids = await h.store.addJobs(
    parseNewJob({ name: "show", command: "run", children: shots }, null, null),
  );
  assert.equal(ids.length, 1121);
  const show = ids[0] as number;
  const [root] = await h.store.read([show], ["status", "children", "nKids", "kidsLeft", "treeN"]);
  assert.equal(root?.status, "queued");
  assert.equal(root?.children, JSON.stringify(ids.slice(1, 1101)), "the shots, in order");
  assert.deepEqual([root?.nKids, root?.kidsLeft, root?.treeN], ["1100", "1100", "1121"]);
  const [shot0] = await h.store.read([ids[1] as number], ["status", "children", "kidsLeft", "treeN", "root"]);
  assert.deepEqual(
    [shot0?.status, shot0?.children, shot0?.kidsLeft, shot0?.treeN, shot0?.root],
    ["queued", JSON.stringify([ids[1101], ids[1102]]), "2", "3", String(show)],
  );
  await checkInvariants(ids, "a tree cut across calls");
  await h.store.cascade("cancelJobs", [show]);

  // Commandless frames finish in the call that makes them: the first call's frames are all done before the
  // later calls run, and still the parent waits for the frames those make, then succeeds once.
  const empty = await h.store.addJobs(
    parseNewJob(
      { name: "empty", children: Array.from({ length: 1200 }, (_, i) => ({ name: `f${i}` })) },
      null,
      null,
    ),
  );
  const [top] = await h.store.read([empty[0] as number], ["status", "logs", "kidsLeft"]);
  assert.equal(top?.status, "succeeded");
  assert.equal((top?.logs ?? "").match(/setting status to succeeded/g)?.length, 1, top?.logs);
  assert.ok(!(top?.logs ?? "").includes("runnable"), top?.logs);
  await checkInvariants(empty, "a commandless tree cut across calls");
});
