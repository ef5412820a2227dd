// How much CPU a coordinator and an agent take to start, as the tests start them: from the run's compiled copy
// (scripts/test-build.mjs), a coordinator against a running redis-server until it answers `ping`, an agent
// until its port answers. CPU is the process's own user + system time (/proc/PID/stat) at that moment, so the
// figure does not depend on the box's load, unlike wall time. Linux only.
// `node scripts/startup-cpu.mjs [runs]` (default 10); prints each program's median and range, in ms.
/* global fetch */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { buildPrograms } from "./test-build.mjs";

const RUNS = Number(process.argv[2] ?? 10);
const IDLE_MS = Number(process.env["IDLE_MS"] ?? 0);
const TICK_MS = 10; // USER_HZ is 100 on Linux

function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
    server.on("error", fail);
  });
}

/** The process's user + system CPU so far, in ms. */
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

function portOpen(port) {
  return new Promise((ok) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.destroy();
      ok(true);
    });
    socket.on("error", () => ok(false));
  });
}

const PING = `<?xml version="1.0"?><methodCall><methodName>ping</methodName><params></params></methodCall>`;
async function pings(url) {
  try {
    const res = await fetch(`${url}/RPC2`, {
      method: "POST",
      headers: { "content-type": "text/xml" },
      body: PING,
    });
    return res.ok && /<boolean>1<\/boolean>/.test(await res.text());
  } catch {
    return false;
  }
}

async function until(child, ready) {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${child.output}`);
    if (await ready()) return cpuMs(child.pid);
    await sleep(20);
  }
}

function start(args, env) {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.output = "";
  child.stdout.on("data", (c) => (child.output += c));
  child.stderr.on("data", (c) => (child.output += c));
  return child;
}

async function stop(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

function summary(name, values) {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  console.log(
    `${name}: median ${median} ms CPU to ready (min ${sorted[0]}, max ${sorted.at(-1)}, ${values.length} runs)`,
  );
}

const programs = await buildPrograms();
const scratch = mkdtempSync(join(tmpdir(), "openhq-startup-"));
const redisPort = await freePort();
const redis = spawn(
  "redis-server",
  ["--port", String(redisPort), "--save", "", "--appendonly", "no", "--dir", scratch],
  {
    stdio: "ignore",
  },
);
try {
  while (!(await portOpen(redisPort))) await sleep(20);
  const env = {
    OPENHQ_CONFIG: "",
    OPENHQ_FARM_SECRET: "openhq-startup-secret",
    OPENHQ_JOB_LOGS_DIR: join(scratch, "logs"),
    OPENHQ_TEST_PROGRAMS: "",
    // As root (CI containers) the agent runs jobs only when told which account to use.
    ...(process.getuid?.() === 0 ? { OPENHQ_JOB_USER: "root" } : {}),
  };
  const coordinator = [];
  const idle = [];
  let url = "";
  let running = null;
  for (let i = 0; i < RUNS; i++) {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const child = start(
      [
        resolve(programs.dir, "coordinator/main.js"),
        "--port",
        String(port),
        "--host",
        "127.0.0.1",
        "--prefix",
        `s${i}:`,
        "--redis",
        `redis://127.0.0.1:${redisPort}`,
      ],
      env,
    );
    coordinator.push(await until(child, () => pings(url)));
    if (IDLE_MS > 0) {
      await sleep(IDLE_MS);
      idle.push(cpuMs(child.pid) - coordinator.at(-1));
    }
    if (i < RUNS - 1) await stop(child);
    else running = child;
  }
  summary("coordinator", coordinator);
  if (IDLE_MS > 0) summary(`coordinator idle ${IDLE_MS} ms after ping`, idle);
  const agent = [];
  for (let i = 0; i < RUNS; i++) {
    const port = await freePort();
    const state = join(scratch, `agent${i}`);
    const child = start(
      [
        resolve(programs.dir, "agent/main.js"),
        "--server",
        url,
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--state-dir",
        state,
        "--log-file",
        join(scratch, `agent${i}.log`),
      ],
      env,
    );
    agent.push(await until(child, () => portOpen(port)));
    await stop(child);
  }
  summary("agent", agent);
  await stop(running);
} finally {
  redis.kill("SIGKILL");
  programs.remove();
  rmSync(scratch, { recursive: true, force: true });
}
