// The waiting reasons of a deep queue (coordinator/scheduler/class-reasons.ts): 100,000 jobs of one class
// pinned to a "gpu" group behind 1,000 one-job classes, 200 registered clients. Phase 1: no client is in
// "gpu", so the first rounds mark the 100,000 jobs; phase 2: one client joins "gpu" and the rounds unmark
// them. Reported: rounds each phase takes, the wall time of a round, and Redis's longest single command (of
// those past 500 µs: 0 when none was).

import { parseNewJob } from "../coordinator/api/jobspec.js";
import { Scripts } from "../coordinator/store/dispatch-scripts.js";
import { JobStore } from "../coordinator/store/jobs.js";
import { Keys } from "../coordinator/store/keys.js";
import { headClasses } from "../coordinator/store/queue.js";
import { ClassReasons } from "../coordinator/scheduler/class-reasons.js";
import { RegisteredClients } from "../coordinator/scheduler/registered.js";
import { testContext, testLogs } from "../test/support/context.js";
import { startRedis } from "../test/support/redis.js";
import type { BenchResult } from "./types.js";

const DEEP = 100_000;
const CLIENTS = 200;

export async function run(): Promise<BenchResult[]> {
  const server = await startRedis();
  const redis = server.client();
  try {
    const keys = new Keys("b:");
    // No job here writes output: the log store's sweep is not started.
    const ctx = await testContext(redis, keys, {}, await testLogs(redis, keys, { sweep: false }));
    const store = new JobStore(ctx);
    const pinned = Array.from({ length: 1000 }, (_, i) => ({
      name: `p${i}`,
      command: "x",
      priority: 9,
      host: `h${i}`,
    }));
    await store.addJobs(parseNewJob(pinned, null, null));
    const gpu = Array.from({ length: 1000 }, () => ({ name: "gpu", command: "x", hostgroup: "gpu" }));
    for (let i = 0; i < DEEP / 1000; i++) await store.addJobs(parseNewJob(gpu, null, null));
    for (let c = 1; c <= CLIENTS; c++) {
      await redis.hset(keys.client(c), "hostname", `node${c}`, "cpus", "4", "platform", "linux");
      await redis.zadd(keys.clients, c, String(c));
    }
    const reasons = new ClassReasons(ctx, new Scripts(ctx));
    const classes = await headClasses(ctx, 0, 1000);
    const rest = await headClasses(ctx, 1000, 1000);
    const walls: number[] = [];
    const phase = async (groups: Map<number, Set<string>>, want: string | null): Promise<number> => {
      const clients = await new RegisteredClients(ctx).read(groups);
      for (let rounds = 1; ; rounds++) {
        const start = performance.now();
        await reasons.round(rounds % 2 === 1 ? classes : rest, clients);
        walls.push(performance.now() - start);
        const last = await redis.zrange(keys.queueClass(gpuClass), "-1", "-1");
        const warning = await redis.hget(keys.job(Number(last[0])), "showBlockedClientsWarning");
        if (warning === want || rounds > 1000) return rounds;
      }
    };
    const gpuClass = (await redis.hget(keys.job(1001), "cls")) as string;
    // Only commands past 500 µs are logged; none logged reports 0.
    await redis.config("SET", "slowlog-log-slower-than", "500");
    await redis.config("SET", "slowlog-max-len", "1000000");
    await redis.slowlog("RESET");
    const mark = await phase(new Map(), "1");
    const unmark = await phase(new Map([[1, new Set(["gpu"])]]), null);
    const log = (await redis.slowlog("GET", "-1")) as [number, number, number, string[]][];
    const longest = log.reduce((max, e) => Math.max(max, e[2]), 0);
    const sorted = [...walls].sort((a, b) => a - b);
    const note = `${DEEP.toLocaleString("en-US")} jobs of one class behind 1,000 classes, ${CLIENTS} clients`;
    return [
      { name: "rounds to mark the deep class", value: mark, unit: "rounds", note },
      { name: "rounds to unmark it after a client joins its group", value: unmark, unit: "rounds", note },
      {
        name: "wall time of a round, median",
        value: +(sorted[sorted.length >> 1] ?? 0).toFixed(1),
        unit: "ms",
      },
      { name: "wall time of a round, max", value: +(sorted[sorted.length - 1] ?? 0).toFixed(1), unit: "ms" },
      {
        name: "longest single Redis command",
        value: longest,
        unit: "µs",
        target: "< 5000",
        ok: longest < 5000,
      },
    ];
  } finally {
    redis.disconnect();
    await server.stop();
  }
}
