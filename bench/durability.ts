// Durability levels and what they cost (issue 11): the same small farm on Redis with
//   everysec  AOF, appendfsync everysec (the default of the private redis-server)
//   always    AOF, appendfsync always
//   wait1     AOF everysec plus one replica, openhq.redis.waitReplicas = 1 (WAIT before acks and assignments)
// Per level: submit->start latency (newjob call to an agent receiving `assign`, 4 protocol peers that finish
// each job at once) and end-to-end jobs/s (3,000 jobs of `true` on 50 simulated agents).
// `DURABILITY_LEVELS=always,wait1 npm run bench -- durability` runs only those levels.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { redisServerArgs } from "../coordinator/redis/server-args.js";
import { XmlRpcClient } from "../shared/xmlrpc/index.js";
import { startCoordinator, type TestCoordinator } from "../test/support/coordinator.js";
import { freePort } from "../test/support/ports.js";
import { startSim, submitToStart } from "./farm.js";
import type { BenchResult } from "./types.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Level {
  fsync: "everysec" | "always";
  replica: boolean;
  waitReplicas: number;
}

const LEVELS: Record<string, Level> = {
  everysec: { fsync: "everysec", replica: false, waitReplicas: 0 },
  always: { fsync: "always", replica: false, waitReplicas: 0 },
  wait1: { fsync: "everysec", replica: true, waitReplicas: 1 },
};

async function redisServer(dir: string, fsync: string, replicaOf: number | null) {
  const port = await freePort();
  const child: ChildProcess = spawn(
    "redis-server",
    redisServerArgs({ port, dir, appendfsync: fsync, aofName: `aof-${port}`, replicaOf }),
    { stdio: "ignore" },
  );
  const probe = new Redis(port, "127.0.0.1", { maxRetriesPerRequest: 1 });
  probe.on("error", () => {});
  for (let i = 0; ; i++) {
    try {
      const info = await probe.info("replication");
      if (replicaOf === null || /master_link_status:up/.test(info)) break;
    } catch {
      // not up yet
    }
    if (i > 300) throw new Error(`redis ${port} did not come up`);
    await sleep(50);
  }
  probe.disconnect();
  return { port, child };
}

async function measure(name: string, level: Level): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), "openhq-durability-"));
  const primary = await redisServer(dir, level.fsync, null);
  const replica = level.replica ? await redisServer(dir, level.fsync, primary.port) : null;
  let coord: TestCoordinator | null = null;
  try {
    coord = await startCoordinator({
      redisUrl: `redis://127.0.0.1:${primary.port}`,
      env: { OPENHQ_REDIS_WAIT_REPLICAS: String(level.waitReplicas) },
    });
    const rpc = new XmlRpcClient(coord.url);
    const { p50, p99 } = await submitToStart(coord.url, 220, "dur");

    const sim = startSim(coord.url, 50, 5000, 1, `d${name}`);
    await sim.ready;
    const redis = new Redis(primary.port, "127.0.0.1");
    const key = coord.keys.jobsByStatus("succeeded");
    const before = await redis.zcard(key);
    const n = 3000;
    const t0 = performance.now();
    await rpc.call(
      "newjob",
      Array.from({ length: n }, (_, i) => ({ name: `t${i}`, command: "true" })),
    );
    while ((await redis.zcard(key)) < before + n && performance.now() - t0 < 120_000) await sleep(20);
    const rate = ((await redis.zcard(key)) - before) / ((performance.now() - t0) / 1000);
    redis.disconnect();
    await sim.stop();
    const label = `${name} (appendfsync ${level.fsync}${level.replica ? `, 1 replica, waitReplicas ${level.waitReplicas}` : ""})`;
    return [
      { name: `${label}: submit->start p50`, value: +p50.toFixed(2), unit: "ms" },
      { name: `${label}: submit->start p99`, value: +p99.toFixed(2), unit: "ms" },
      {
        name: `${label}: end-to-end throughput, 50 simulated agents`,
        value: Math.round(rate),
        unit: "jobs/s",
      },
    ];
  } finally {
    await coord?.stop();
    replica?.child.kill("SIGKILL");
    primary.child.kill("SIGKILL");
    await sleep(100);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<BenchResult[]> {
  const wanted = process.env.DURABILITY_LEVELS?.split(",") ?? Object.keys(LEVELS);
  const out: BenchResult[] = [];
  for (const name of wanted) {
    const level = LEVELS[name];
    if (level) out.push(...(await measure(name, level)));
  }
  return out;
}
