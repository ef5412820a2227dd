// Redis time of each hot job script, alone: where the "Redis CPU per job lifecycle" of bench/scale.ts goes.
// One client on a private redis-server runs 5,000 jobs through addJobs (1,000 a call), moveToAssigned (each on
// its own idle client), recordStarted and moveToFinished, one phase at a time, twice; the second round is
// reported as commandstats time inside FCALL per job (Lua and the commands it calls; no network).

import type { Redis } from "ioredis";
import { parseNewJob } from "../coordinator/api/jobspec.js";
import { JobStore } from "../coordinator/store/jobs.js";
import { Keys } from "../coordinator/store/keys.js";
import { runScript } from "../coordinator/store/lua-scripts.js";
import { testLogs } from "../test/support/context.js";
import { startRedis } from "../test/support/redis.js";
import type { BenchResult } from "./types.js";

const JOBS = 5000;
const PREFIX = "b:";

async function fcallMicros(redis: Redis, during: () => Promise<void>): Promise<number> {
  await redis.config("RESETSTAT");
  await during();
  const usec = /cmdstat_fcall:calls=\d+,usec=(\d+)/.exec(await redis.info("commandstats"))?.[1];
  return Number(usec) / JOBS;
}

async function round(redis: Redis, store: JobStore): Promise<Record<string, number>> {
  const specs = Array.from({ length: 1000 }, (_, i) => ({ name: `l${i}`, command: "true" }));
  const ids: number[] = [];
  const attempts: number[] = [];
  const out: Record<string, number> = {};
  out["addJobs"] = await fcallMicros(redis, async () => {
    for (let i = 0; i < JOBS / 1000; i++) ids.push(...(await store.addJobs(parseNewJob(specs, null, null))));
  });
  out["moveToAssigned"] = await fcallMicros(redis, async () => {
    for (const [k, id] of ids.entries()) {
      const reply = (await runScript(redis, PREFIX, "moveToAssigned", [id, k + 1])) as unknown[];
      attempts.push(reply[1] as number);
    }
  });
  out["recordStarted"] = await fcallMicros(redis, async () => {
    for (const [k, id] of ids.entries())
      await runScript(redis, PREFIX, "recordStarted", [id, attempts[k] as number, 1, k + 1]);
  });
  out["moveToFinished"] = await fcallMicros(redis, async () => {
    for (const [k, id] of ids.entries())
      await runScript(redis, PREFIX, "moveToFinished", [id, attempts[k] as number, 2, 0, "", "exited"]);
  });
  await redis.function(
    "LOAD",
    "REPLACE",
    "#!lua name=bench\nredis.register_function('bench_empty', function() return 1 end)",
  );
  out["an empty function"] = await fcallMicros(redis, async () => {
    for (let i = 0; i < JOBS; i++) await redis.fcall("bench_empty", 0, PREFIX, Date.now());
  });
  return out;
}

export async function run(): Promise<BenchResult[]> {
  const server = await startRedis();
  const redis = server.client();
  try {
    const keys = new Keys(PREFIX);
    // No sweep: its commands would count in commandstats. No job here writes output.
    const logs = await testLogs(redis, keys, { sweep: false });
    const store = new JobStore({ redis, keys, settings: { maxOutputBytes: 1 }, logs });
    for (let c = 1; c <= JOBS; c++)
      await redis.hset(`${PREFIX}client:${c}`, "hostname", `node${c}`, "cpus", "4", "available", "1");
    await round(redis, store);
    const figures = await round(redis, store);
    return Object.entries(figures).map(([name, micros]) => ({
      name: `Redis time of ${name}${name === "addJobs" ? " (1,000 jobs a call)" : ""}, per job`,
      value: +micros.toFixed(1),
      unit: "µs",
      note: "commandstats usec inside FCALL, one client, second of two rounds",
    }));
  } finally {
    redis.disconnect();
    await server.stop();
  }
}
