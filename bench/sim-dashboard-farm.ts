// Seeding for bench/dashboard.ts: a farm's worth of Redis data written directly through the store's own
// writers, with no coordinator running and no XML-RPC round trips: jobs through parseNewJob + JobStore.addJobs
// (addJobs.lua, 500 jobs a call) and cancelJobs.lua, blades through registerClient + recordHeartbeat. What
// the dashboard then reads is exactly what a farm that took those calls would hold.

import type { Redis } from "ioredis";
import { parseNewJob } from "../coordinator/api/jobspec.js";
import type { JobStore } from "../coordinator/store/jobs.js";
import { recordHeartbeat, registerClient } from "../coordinator/store/clients.js";
import type { Keys } from "../coordinator/store/keys.js";
import { runScript } from "../coordinator/store/lua-scripts.js";
import type { XmlRpcValue } from "../shared/xmlrpc/types.js";

/** Jobs per addJobs call (the store's own ADD_CHUNK: one call holds Redis ~10 ms). */
const BATCH = 500;
/** Batches in flight at once: Redis works while this process builds the next payload. */
const WORKERS = 3;
export const USERS = 40;

export function userName(i: number): string {
  return `user${String(i % USERS).padStart(2, "0")}`;
}

/**
 * `count` root jobs named "shotNNNNNNN render", spread over USERS submitters and priorities 0..4. All but
 * one batch in `keepEvery` are cancelled at once (finished roots, as a farm's history mostly is).
 */
export async function seedRoots(jobs: JobStore, count: number, keepEvery: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const start = next;
      next += BATCH;
      if (start >= count) return;
      const specs: XmlRpcValue[] = [];
      for (let i = start; i < Math.min(count, start + BATCH); i++)
        specs.push({
          name: `shot${String(i).padStart(7, "0")} render`,
          command: "true",
          submittedBy: userName(i),
          priority: i % 5,
        });
      const ids = await jobs.addJobs(parseNewJob(specs, undefined, undefined));
      if ((start / BATCH) % keepEvery !== 0) await jobs.cascade("cancelJobs", ids);
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, worker));
}

/** A bench-only client the seeded frames run on (far from the seeded blades' ids, as test/jobs-support.ts). */
const RENDER_CLIENT = 900_001;
/** Seeded frames left running. */
const STILL_RUNNING = 50;

/**
 * One parent with `count` children ("frame N"): every 7th child cancelled before it ran; of the rest, every
 * 3rd ran (moveToAssigned.lua) and was then cancelled (a run time each, for the sort by duration), the last
 * STILL_RUNNING of them still run. Returns the parent's id.
 */
export async function seedParent(jobs: JobStore, redis: Redis, keys: Keys, count: number): Promise<number> {
  const frames = (from: number, n: number): XmlRpcValue[] =>
    Array.from({ length: n }, (_, k) => ({ name: `frame ${from + k}`, command: "true" }));
  // A commandless parent with no children would succeed at once: its first batch comes in its spec.
  const [parent] = await jobs.addJobs(
    parseNewJob(
      { name: "frames parent", submittedBy: "anna", children: frames(0, BATCH - 1) },
      undefined,
      undefined,
    ),
  );
  const parentId = parent as number;
  const doomed: number[] = [];
  const ran: number[] = [];
  for (let from = BATCH - 1; from < count; from += BATCH) {
    const ids = await jobs.addJobs(
      parseNewJob(frames(from, Math.min(BATCH, count - from)), parentId, undefined),
    );
    ids.forEach((id, k) => (k % 7 === 0 ? doomed.push(id) : k % 3 === 1 ? ran.push(id) : undefined));
  }
  await jobs.cascade("cancelJobs", doomed);
  await redis.hset(keys.client(RENDER_CLIENT), { hostname: "render", cpus: "1000000" });
  for (let start = 0; start < ran.length; start += BATCH) {
    const batch = ran.slice(start, start + BATCH);
    await Promise.all(batch.map((id) => runScript(redis, keys.prefix, "moveToAssigned", [id, RENDER_CLIENT])));
    const done = start + BATCH >= ran.length ? batch.slice(0, -STILL_RUNNING) : batch;
    await jobs.cascade("cancelJobs", done);
  }
  return parentId;
}

/** `count` blades (blade00000..), registered and with one heartbeat each (varied load), 50 at a time. */
export async function seedBlades(redis: Redis, keys: Keys, count: number): Promise<void> {
  const ctx = { redis, keys };
  const now = Date.now();
  for (let start = 0; start < count; start += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, count - start) }, async (_, k) => {
        const i = start + k;
        const hostname = `blade${String(i).padStart(5, "0")}`;
        const id = await registerClient(
          ctx,
          {
            type: "hello",
            protocol: 1,
            hostname,
            name: "",
            version: "bench",
            platform: "linux",
            arch: "linux-x86_64",
            cpus: 8 + (i % 4) * 8,
            cpuSpeed: 3000,
            memory: 64 * 2 ** 20,
            ip: "10.0.0.1",
            clientPort: 5001,
            availabilityRules: [],
            running: [],
          },
          "bench",
          now,
          "10.0.0.1",
        );
        await recordHeartbeat(
          ctx,
          id,
          {
            type: "heartbeat",
            load: ((i * 37) % 1600) / 100,
            idleTime: -1,
            freeMemory: 32 * 2 ** 20,
            available: i % 10 !== 0,
            running: [],
          },
          "bench",
          now,
        );
      }),
    );
  }
}

/** Redis's used_memory, in MB. */
export async function usedMemoryMb(redis: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info("memory"))?.[1]) / 2 ** 20;
}
