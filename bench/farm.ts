// The farm benchmark (issue 4): end-to-end dispatch throughput with 200 simulated agents, submit->start
// latency on an idle farm, 5,000 simulated agents heartbeating every 5 s (coordinator CPU, no false
// "not responding"), and a real agent running `true` with 16 CPUs. Simulated agents live in a separate
// process (bench/sim-agents.ts) and speak the real protocol over real WebSockets.

import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { Redis } from "ioredis";
import { XmlRpcClient } from "../shared/xmlrpc/index.js";
import { startAgent } from "../test/support/agent.js";
import { startCoordinator, type TestCoordinator } from "../test/support/coordinator.js";
import { iniArgs } from "../test/support/farm-kit.js";
import { ProtocolPeer } from "../test/support/protocol-peer.js";
import type { BenchResult } from "./types.js";

const TRACTOR_TASKS_PER_S = 500;

interface Sim {
  child: ChildProcess;
  ready: Promise<void>;
  stop(): Promise<void>;
}

export function startSim(
  url: string,
  count: number,
  heartbeatMs: number,
  cpus = 1,
  prefix = "sim",
  holdMs = 0,
): Sim {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "bench/sim-agents.ts",
      url,
      String(count),
      String(heartbeatMs),
      String(cpus),
      prefix,
      String(holdMs),
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: child.stdout! });
  const ready = new Promise<void>((resolve, reject) => {
    lines.on("line", (line) => {
      if (line.includes('"ready"')) resolve();
    });
    child.once("exit", (code) => reject(new Error(`sim-agents exited ${code}`)));
  });
  return {
    child,
    ready,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await gone;
    },
  };
}

/** CPU time (user + system) of a process in seconds, from /proc. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function succeeded(redis: Redis, coord: TestCoordinator): Promise<number> {
  return redis.zcard(coord.keys.jobsByStatus("succeeded"));
}

async function submit(rpc: XmlRpcClient, n: number, command: string): Promise<number[]> {
  const ids: number[] = [];
  for (let done = 0; done < n; done += 5000) {
    const specs = Array.from({ length: Math.min(5000, n - done) }, (_, i) => ({
      name: `b${done + i}`,
      command,
    }));
    ids.push(...((await rpc.call("newjob", specs)) as number[]));
  }
  return ids;
}

async function waitSucceeded(redis: Redis, coord: TestCoordinator, n: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let first = 0;
  let count = 0;
  while (Date.now() < deadline) {
    count = await succeeded(redis, coord);
    if (count > 0 && first === 0) first = performance.now();
    if (count >= n) break;
    await sleep(20);
  }
  return { first, last: performance.now(), count };
}

async function throughput(): Promise<BenchResult[]> {
  const coord = await startCoordinator();
  const redis = new Redis(coord.redisUrl);
  const rpc = new XmlRpcClient(coord.url);
  const sim = startSim(coord.url, 200, 5000);
  try {
    await sim.ready;
    // Warm up (script cache, JIT), then measure with jobs submitted up front and agents already waiting.
    await submit(rpc, 2000, "true");
    await waitSucceeded(redis, coord, 2000, 60_000);
    const n = 20_000;
    const before = await succeeded(redis, coord);
    const t0 = performance.now();
    await submit(rpc, n, "true");
    const { last, count } = await waitSucceeded(redis, coord, before + n, 120_000);
    const rate = ((count - before) / (last - t0)) * 1000;
    return [
      {
        name: "completed jobs/s end to end, 200 simulated agents (submit included)",
        value: Math.round(rate),
        unit: "jobs/s",
        target: ">= 2000/s",
        ok: rate >= 2000,
        note: `${count - before} jobs; ${(rate / TRACTOR_TASKS_PER_S).toFixed(1)}x Tractor's claimed ${TRACTOR_TASKS_PER_S} tasks/s`,
      },
    ];
  } finally {
    await sim.stop();
    redis.disconnect();
    await coord.stop();
  }
}

/**
 * Submit→start latency on an idle farm: `runs` single newjob calls, each timed until one of 4 protocol peers
 * holds its assign (the first 20 are warm-up). Returns p50 and p99 in ms.
 */
export async function submitToStart(
  url: string,
  runs: number,
  hostname: string,
): Promise<{ p50: number; p99: number }> {
  const rpc = new XmlRpcClient(url);
  const peers = await Promise.all(
    Array.from({ length: 4 }, (_, i) =>
      new ProtocolPeer({ serverUrl: url, hostname: `${hostname}${i}`, heartbeatMs: 5000 }).connect(),
    ),
  );
  const samples: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
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
  return {
    p50: samples[Math.floor(samples.length * 0.5)]!,
    p99: samples[Math.floor(samples.length * 0.99)]!,
  };
}

async function latency(): Promise<BenchResult[]> {
  const coord = await startCoordinator();
  try {
    const { p50, p99 } = await submitToStart(coord.url, 300, "lat");
    return [
      {
        name: "submit->start latency p50, idle farm",
        value: +p50.toFixed(2),
        unit: "ms",
        target: "<= 10 ms",
        ok: p50 <= 10,
      },
      {
        name: "submit->start latency p99, idle farm",
        value: +p99.toFixed(2),
        unit: "ms",
        target: "<= 50 ms",
        ok: p99 <= 50,
        note: "newjob call to the agent receiving assign",
      },
    ];
  } finally {
    await coord.stop();
  }
}

async function heartbeats(): Promise<BenchResult[]> {
  // activeTimeout of 15 s = three heartbeat intervals: a slow coordinator would mark clients not responding.
  const coord = await startCoordinator({ args: iniArgs("[main]\nhqserver.activeTimeout = 0.25\n") });
  const rpc = new XmlRpcClient(coord.url);
  const sim = startSim(coord.url, 5000, 5000, 1, "hb");
  try {
    await sim.ready;
    await sleep(6000); // let the first round of heartbeats spread out
    const pid = coord.process.pid!;
    const c0 = cpuSeconds(pid);
    const t0 = performance.now();
    let falselyLost = 0;
    for (let i = 0; i < 6; i++) {
      await sleep(5000);
      const clients = (await rpc.call("getClients", null, ["responding"])) as { responding: boolean }[];
      falselyLost = Math.max(falselyLost, clients.filter((c) => !c.responding).length);
    }
    const cpu = ((cpuSeconds(pid) - c0) / ((performance.now() - t0) / 1000)) * 100;
    const abandoned = /not responding/.test(coord.output());
    return [
      {
        name: "coordinator CPU with 5,000 agents heartbeating every 5 s",
        value: +cpu.toFixed(1),
        unit: "% of a core",
        target: "< 30%",
        ok: cpu < 30,
        note: "30 s window, includes a getClients of 5,000 clients every 5 s",
      },
      {
        name: "clients falsely marked not responding (5,000 agents, activeTimeout 15 s)",
        value: falselyLost + (abandoned ? 1 : 0),
        unit: "clients",
        target: "0",
        ok: falselyLost === 0 && !abandoned,
      },
    ];
  } finally {
    await sim.stop();
    await coord.stop();
  }
}

async function realAgent(): Promise<BenchResult[]> {
  const coord = await startCoordinator();
  const redis = new Redis(coord.redisUrl);
  const rpc = new XmlRpcClient(coord.url);
  const agent = await startAgent({ serverUrl: coord.url, cpus: 16 });
  try {
    while (((await rpc.call("getClients")) as unknown[]).length < 1) await sleep(50);
    await submit(rpc, 100, "true");
    await waitSucceeded(redis, coord, 100, 60_000);
    const n = 1000;
    const t0 = performance.now();
    await submit(rpc, n, "true");
    const { last, count } = await waitSucceeded(redis, coord, 100 + n, 180_000);
    const rate = ((count - 100) / (last - t0)) * 1000;
    return [
      {
        name: "real agent running `true`, 16 CPUs",
        value: Math.round(rate),
        unit: "jobs/s",
        note: `${count - 100} jobs, one agent process`,
      },
    ];
  } finally {
    await agent.stop();
    redis.disconnect();
    await coord.stop();
  }
}

const PHASES: Record<string, () => Promise<BenchResult[]>> = { throughput, latency, heartbeats, realAgent };

/** FARM_PHASES=latency,heartbeats runs only those phases. */
export async function run(): Promise<BenchResult[]> {
  const wanted = process.env.FARM_PHASES?.split(",") ?? Object.keys(PHASES);
  const out: BenchResult[] = [];
  for (const name of wanted) {
    const phase = PHASES[name];
    if (phase) out.push(...(await phase()));
  }
  return out;
}
