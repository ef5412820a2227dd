// Job store and job API figures, measured against a real coordinator over XML-RPC (its own redis-server):
// bulk newjob, concurrent single-spec newjob, getJobs of 10,000 roots with every attribute, and the Redis
// memory a finished job costs (its jobs run through the scheduler's and the store's own Lua transitions).

import { Redis } from "ioredis";
import { parseNewJob } from "../coordinator/api/jobspec.js";
import { JobStore } from "../coordinator/store/jobs.js";
import { jobAttributes } from "../coordinator/store/job-view.js";
import { runScript } from "../coordinator/store/lua-scripts.js";
import { XmlRpcClient } from "../shared/xmlrpc/index.js";
import { testLogs } from "../test/support/context.js";
import { startCoordinator } from "../test/support/coordinator.js";
import type { BenchResult } from "./types.js";

const BULK = 10_000;
const CONCURRENT_CLIENTS = 8;
const CALLS_PER_CLIENT = 250;
const MEMORY_JOBS = 10_000;

function spec(i: number) {
  return {
    name: `shot010_lighting frame ${i}`,
    command: `hython $HQROOT/scripts/render.py --frame ${i} --rop /out/mantra1`,
    priority: 5,
    tags: ["single"],
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function usedMemory(redis: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info("memory"))?.[1] ?? NaN);
}

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const coordinator = await startCoordinator();
  const client = new XmlRpcClient(coordinator.url);
  const redis = new Redis(coordinator.redisUrl);
  try {
    // 1. One newjob with a list of 10,000 specs: the median of 3 calls after one untimed call (a coordinator
    // runs for weeks; its first call also pays for compiling the XML and spec code paths).
    const specs = Array.from({ length: BULK }, (_, i) => spec(i));
    await client.call("newjob", specs);
    const bulkRates: number[] = [];
    let ids: number[] = [];
    for (let round = 0; round < 3; round++) {
      const start = performance.now();
      ids = await client.call<number[]>("newjob", specs);
      bulkRates.push(ids.length / ((performance.now() - start) / 1000));
    }
    const bulkRate = median(bulkRates);
    results.push({
      name: "newjob, one list of 10,000 specs",
      value: Math.round(bulkRate),
      unit: "jobs/s",
      target: ">= 20000/s",
      ok: bulkRate >= 20_000,
      note: `median of 3 after a warm-up call; all: ${bulkRates.map(Math.round).join(", ")}`,
    });

    // 2. Single-spec newjob from 8 concurrent clients: the median of 3 rounds after an untimed one.
    const clients = Array.from({ length: CONCURRENT_CLIENTS }, () => new XmlRpcClient(coordinator.url));
    const submit = () =>
      Promise.all(
        clients.map(async (c, k) => {
          for (let i = 0; i < CALLS_PER_CLIENT; i++) await c.call("newjob", spec(k * CALLS_PER_CLIENT + i));
        }),
      );
    await submit();
    const singleRates: number[] = [];
    for (let round = 0; round < 3; round++) {
      const start = performance.now();
      await submit();
      singleRates.push((CONCURRENT_CLIENTS * CALLS_PER_CLIENT) / ((performance.now() - start) / 1000));
    }
    clients.forEach((c) => c.close());
    const singleRate = median(singleRates);
    results.push({
      name: `newjob, single spec, ${CONCURRENT_CLIENTS} concurrent clients`,
      value: Math.round(singleRate),
      unit: "jobs/s",
      target: ">= 3000/s",
      ok: singleRate >= 3000,
      note: `median of 3 rounds of ${CONCURRENT_CLIENTS * CALLS_PER_CLIENT} after a warm-up round; all: ${singleRates.map(Math.round).join(", ")}`,
    });

    // 3. getJobs of 10,000 root jobs, every attribute (best of 3).
    let best = Infinity;
    for (let round = 0; round < 3; round++) {
      const start = performance.now();
      const jobs = await client.call<unknown[]>("getJobs", ids);
      best = Math.min(best, (performance.now() - start) / 1000);
      if (jobs.length !== ids.length) throw new Error("getJobs returned the wrong number of jobs");
    }
    results.push({
      name: "getJobs of 10,000 roots, all attributes",
      value: Number(best.toFixed(3)),
      unit: "s",
      target: "<= 1 s",
      ok: best <= 1,
    });

    // The same two operations without XML-RPC (spec parsing + addJobs.lua; readJobs.lua + attributes), to
    // show how much of the above is the store and how much the XML codec and HTTP on both ends.
    const { keys, jobLogsDir } = coordinator;
    const logs = await testLogs(redis, keys, { dir: jobLogsDir, sweep: false });
    const store = new JobStore({ redis, keys, settings: { maxOutputBytes: 1 }, logs });
    let start = performance.now();
    await store.addJobs(parseNewJob(specs, null, null));
    const storeRate = BULK / ((performance.now() - start) / 1000);
    results.push({
      name: "  of which the store: parse + addJobs.lua",
      value: Math.round(storeRate),
      unit: "jobs/s",
    });
    start = performance.now();
    const now = Date.now();
    (await store.read(ids)).forEach((job) => job && jobAttributes(job, undefined, now));
    const readSeconds = (performance.now() - start) / 1000;
    results.push({
      name: "  of which the store: readJobs.lua + attributes",
      value: Number(readSeconds.toFixed(3)),
      unit: "s",
    });

    // 4. Redis memory per finished job without output: 10,000 jobs through assignment and success.
    await client.call("cancelJobs", await client.call<number[]>("getJobIdsByStatus", ["queued", "runnable"]));
    await client.call("deleteJobs", await client.call<number[]>("getFinishedRootJobIds"));
    const prefix = coordinator.prefix;
    const clientId = 999_999;
    await redis.hset(coordinator.keys.client(clientId), "hostname", "render-node-042", "cpus", "1000000");
    const before = await usedMemory(redis);
    const memIds = await client.call<number[]>(
      "newjob",
      Array.from({ length: MEMORY_JOBS }, (_, i) => ({ ...spec(i), tags: [] })),
    );
    for (const id of memIds) {
      const reply = (await runScript(redis, prefix, "moveToAssigned", [id, clientId])) as unknown[];
      // The coordinator's own scheduler may have taken the job first; then there is nothing to finish here.
      if (reply[0] !== "assigned") continue;
      await runScript(redis, prefix, "moveToFinished", [id, reply[1] as number, 1, 0, "", "exited"]);
    }
    await redis.del(coordinator.keys.clientHistory(clientId));
    const perJob = (await usedMemory(redis)) - before;
    const finished = (await client.call<number[]>("getJobIdsByStatus", "succeeded")).length;
    results.push({
      name: "Redis memory per finished job (no output)",
      value: Math.round(perJob / finished),
      unit: "bytes",
      target: "<= 1536 bytes",
      ok: perJob / finished <= 1536,
      note: `${finished} finished root jobs; includes their status, root and expiry set entries`,
    });
  } finally {
    client.close();
    redis.disconnect();
    await coordinator.stop();
  }
  return results;
}
