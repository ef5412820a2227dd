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
import { createInterface } from "node:readline";
import { Redis } from "ioredis";
import { redisServerArgs } from "../coordinator/redis/server-args.js";
import { XmlRpcClient } from "../shared/xmlrpc/index.js";
import { startCoordinator, type TestCoordinator } from "../test/support/coordinator.js";
import { freePort } from "../test/support/ports.js";
import { ProtocolPeer } from "../test/support/protocol-peer.js";
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
    const peers = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        new ProtocolPeer({ serverUrl: coord!.url, hostname: `dur${i}`, heartbeatMs: 5000 }).connect(),
      ),
    );
    const samples: number[] = [];
    try {
      for (let i = 0; i < 220; i++) {
        const t0 = performance.now();
        const [id] = (await rpc.call("newjob", { name: `lat${i}`, command: "true" })) as number[];
        await Promise.race(
          peers.map((p) => p.waitFor(() => p.received.some((m) => m.type === "assign" && m.jobId === id))),
        );
        if (i >= 20) samples.push(performance.now() - t0);
        await sleep(5);
      }
    } finally {
      for (const p of peers) p.close();
    }
    samples.sort((a, b) => a - b);
    const p50 = samples[Math.floor(samples.length * 0.5)] as number;
    const p99 = samples[Math.floor(samples.length * 0.99)] as number;

    const sim = spawn(
      process.execPath,
      ["--import", "tsx", "bench/sim-agents.ts", coord.url, "50", "5000", "1", `d${name}`],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: sim.stdout! }).on("line", (l) => l.includes('"ready"') && resolve());
      sim.once("exit", (code) => reject(new Error(`sim-agents exited ${code}`)));
    });
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
    const exited = new Promise((r) => sim.once("exit", r));
    sim.kill("SIGTERM");
    await exited;
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
