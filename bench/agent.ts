// `npm run bench -- agent`: the agent's output throughput (a job printing 200 MB) end to end through a real
// coordinator (test/support/coordinator.ts) and, to show the agent's own share, to a bare protocol peer
// written below; its idle memory and CPU; and the cost of one stats sample.

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { WebSocketServer } from "ws";
import type { AgentMessage, AssignMessage } from "../shared/protocol.js";
import { XmlRpcClient } from "../shared/xmlrpc/client.js";
import { Stats } from "../agent/stats.js";
import { probeIdleMs } from "../agent/idle/index.js";
import { startAgent, type TestAgent } from "../test/support/agent.js";
import { assignMessage } from "../test/support/assign.js";
import { startCoordinator } from "../test/support/coordinator.js";
import { freePort } from "../test/support/ports.js";
import type { BenchResult } from "./types.js";

const BYTES = 200 * 1024 * 1024;
const LINE = "frame 0042 sample 17/256 lorem ipsum dolor sit amet, render output line\n";
/** Prints exactly BYTES of text lines. */
const COMMAND = `yes '${LINE.trimEnd()}' | head -c ${BYTES}`;
const IDLE_SECONDS = 10;
const BUILD_DIR = "node_modules/.cache/openhq-agent-bench";

/**
 * Compiles the agent the way it is installed (plain JS, `openhq-agent` = dist/agent/main.js) so memory and
 * CPU are measured without the tsx loader. Built alone, so half-done work elsewhere in the tree does not
 * stop it; type errors elsewhere still emit.
 */
function buildAgent(): string {
  mkdirSync("node_modules/.cache", { recursive: true });
  const config = `${BUILD_DIR}.tsconfig.json`;
  writeFileSync(
    config,
    JSON.stringify({
      extends: "../../tsconfig.json",
      compilerOptions: {
        noEmit: false,
        outDir: "./openhq-agent-bench",
        rootDir: "../..",
        declaration: false,
        sourceMap: false,
      },
      include: [],
      files: ["../../agent/main.ts"],
    }),
  );
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  try {
    execFileSync(process.execPath, [tsc, "-p", config], { stdio: "ignore" });
  } catch {
    // emitted anyway (noEmitOnError is off); a real failure shows when the agent does not start
  }
  return `${BUILD_DIR}/agent/main.js`;
}

function expectedSha(): string {
  const hash = createHash("sha256");
  const block = Buffer.from(LINE.repeat(Math.floor((1 << 20) / LINE.length)));
  let left = BYTES;
  while (left > 0) {
    const part = left >= block.length ? block : block.subarray(0, left);
    hash.update(part);
    left -= part.length;
  }
  return hash.digest("hex");
}

/** A minimal coordinator stand-in: welcome, assign on demand, in-order apply and ack, sha of the output. */
async function startPeer(): Promise<{
  url: string;
  run(spec: AssignMessage): Promise<{ ms: number; sha: string; bytes: number }>;
  close(): Promise<void>;
}> {
  const port = await freePort();
  const server = new WebSocketServer({ port, host: "127.0.0.1", path: "/agent", perMessageDeflate: false });
  await new Promise<void>((r) => server.once("listening", () => r()));
  let socket: import("ws").WebSocket | null = null;
  let onEvent: ((m: AgentMessage) => void) | null = null;
  const welcomed = new Promise<void>((resolve) => {
    server.on("connection", (ws) => {
      socket = ws;
      ws.on("message", (data) => {
        const m = JSON.parse(data.toString()) as AgentMessage;
        if (m.type === "hello") {
          ws.send(
            JSON.stringify({
              type: "welcome",
              clientId: 1,
              heartbeatInterval: 5000,
              hqroot: "",
              serverUrl: "",
              stop: [],
            }),
          );
          resolve();
        } else onEvent?.(m);
      });
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    async run(spec) {
      await welcomed;
      const hash = createHash("sha256");
      let last = 0;
      let bytes = 0;
      const t0 = performance.now();
      await new Promise<void>((resolve) => {
        onEvent = (m) => {
          if (!("seq" in m) || m.seq !== last + 1) return;
          last = m.seq;
          if (m.type === "output") {
            const b = Buffer.from(m.data, m.encoding === "base64" ? "base64" : "utf8");
            bytes += b.length;
            hash.update(b);
          }
          socket?.send(JSON.stringify({ type: "ack", jobId: m.jobId, attempt: m.attempt, seq: m.seq }));
          if (m.type === "finished") resolve();
        };
        socket?.send(JSON.stringify(spec));
      });
      return { ms: performance.now() - t0, sha: hash.digest("hex"), bytes };
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** The output throughput of one run: BYTES over `path` in `ms`; the target is met only with the output intact. */
function throughputResult(path: string, ms: number, intact: boolean, note: string): BenchResult {
  const value = BYTES / (1024 * 1024) / (ms / 1000);
  return {
    name: `output throughput (200 MB job, ${path})`,
    value: round(value),
    unit: "MB/s",
    target: ">= 50 MB/s",
    ok: value >= 50 && intact,
    note,
  };
}

async function throughputViaCoordinator(expected: string, entry: string): Promise<BenchResult> {
  const coordinator = await startCoordinator({ env: { OPENHQ_MAX_OUTPUT_BYTES: String(BYTES * 2) } });
  let agent: TestAgent | null = null;
  const client = new XmlRpcClient(coordinator.url, { timeoutMs: 300_000, maxBodyBytes: BYTES * 3 });
  try {
    agent = await startAgent({ serverUrl: coordinator.url, entry });
    await waitFor(async () => ((await client.call<unknown[]>("getClients")) ?? []).length > 0, 30_000);
    const t0 = performance.now();
    const [id] = await client.call<number[]>("newjob", {
      name: "bench output",
      command: COMMAND,
      shell: "bash",
    });
    let status = "";
    await waitFor(async () => {
      status = String(await client.call("getstatus", id ?? 0));
      return ["succeeded", "failed", "cancelled", "abandoned"].includes(status);
    }, 120_000);
    const ms = performance.now() - t0;
    const output = await client.call<string>("getJobOutput", id ?? 0);
    const sha = createHash("sha256").update(output).digest("hex");
    const same = sha === expected && status === "succeeded";
    return throughputResult(
      "agent -> coordinator -> Redis",
      ms,
      same,
      same ? "getJobOutput sha256 identical" : `status ${status}, sha256 ${same ? "same" : "DIFFERENT"}`,
    );
  } finally {
    client.close();
    await agent?.stop();
    await coordinator.stop();
  }
}

async function throughputViaPeer(expected: string, entry: string): Promise<BenchResult> {
  const peer = await startPeer();
  const agent = await startAgent({ serverUrl: peer.url, entry });
  try {
    const result = await peer.run(assignMessage(COMMAND, { jobId: 1, name: "bench output", shell: "bash" }));
    const same = result.sha === expected;
    return throughputResult(
      "agent -> protocol peer",
      result.ms,
      same,
      `agent alone: to a protocol peer written in the bench; sha256 ${same ? "identical" : "DIFFERENT"}`,
    );
  } finally {
    await agent.stop();
    await peer.close();
  }
}

async function idleFigures(entry: string): Promise<BenchResult[]> {
  const peer = await startPeer();
  const agent = await startAgent({ serverUrl: peer.url, entry });
  try {
    const pid = agent.process.pid ?? 0;
    await new Promise((r) => setTimeout(r, 3000)); // settle after start-up
    const ticks = (): number => {
      const fields = readFileSync(`/proc/${pid}/stat`, "latin1").split(") ")[1]?.split(" ") ?? [];
      return Number(fields[11]) + Number(fields[12]);
    };
    const before = ticks();
    await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
    const cpu = ((ticks() - before) / 100 / IDLE_SECONDS) * 100; // USER_HZ is 100 on Linux
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
    return [
      {
        name: "agent idle RSS",
        value: round(rssKb / 1024),
        unit: "MB",
        target: "<= 80 MB",
        ok: rssKb / 1024 <= 80,
        note: "compiled agent (as installed), linked, no jobs",
      },
      {
        name: `agent idle CPU over ${IDLE_SECONDS} s`,
        value: round(cpu),
        unit: "% of a core",
        target: "<= 1%",
        ok: cpu <= 1,
        note: "5 s heartbeats",
      },
    ];
  } finally {
    await agent.stop();
    await peer.close();
  }
}

async function statsFigures(): Promise<BenchResult[]> {
  const stats = new Stats();
  stats.sample();
  const n = 10_000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) stats.sample();
  const perSample = (performance.now() - t0) / n;
  const i0 = performance.now();
  await probeIdleMs();
  const idleProbe = performance.now() - i0;
  return [
    { name: "one stats sample (load, free memory)", value: round(perSample, 4), unit: "ms" },
    { name: "one idle-time probe (every 30 s, off the heartbeat path)", value: round(idleProbe), unit: "ms" },
  ];
}

async function waitFor(check: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 100));
  }
}

function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export async function run(): Promise<BenchResult[]> {
  const expected = expectedSha();
  const entry = buildAgent();
  const results: BenchResult[] = [];
  try {
    results.push(await throughputViaCoordinator(expected, entry));
  } catch (err) {
    const why = `coordinator run failed: ${(err as Error).message.split("\n")[0]}`;
    results.push({
      name: "output throughput (200 MB job, agent -> coordinator -> Redis)",
      value: 0,
      unit: "MB/s",
      target: ">= 50 MB/s",
      ok: false,
      note: why,
    });
  }
  // The agent's own share: the same job to a bare protocol peer, so the coordinator's cost is left out.
  results.push(await throughputViaPeer(expected, entry));
  return [...results, ...(await idleFigures(entry)), ...(await statsFigures())];
}
