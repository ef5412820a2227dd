// `npm start`: a one-machine farm. Starts the coordinator (with its private redis-server, data in
// ./.openhq/data) and one local agent (state in ./.openhq/agent), prints the URL, and stops both on Ctrl-C.
//
//   npm start -- [--port 5000] [--host 0.0.0.0] [--agent-port 5001] [--no-agent] [--data DIR]

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";

const { values: flags } = parseArgs({
  options: {
    port: { type: "string", default: "5000" },
    host: { type: "string", default: "0.0.0.0" },
    "agent-port": { type: "string", default: "5001" },
    "no-agent": { type: "boolean", default: false },
    data: { type: "string", default: ".openhq/data" },
  },
});

const STOP_TIMEOUT_MS = 20_000;
const local = `http://127.0.0.1:${flags.port}`;
const children: { name: string; child: ChildProcess }[] = [];
let stopping = false;

function start(name: string, script: string, args: string[], env = process.env): ChildProcess {
  // Own process group: Ctrl-C reaches only this script, which then stops the children in order.
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], {
    detached: true,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const prefix = (chunk: Buffer) =>
    chunk
      .toString()
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => `[${name}] ${line}\n`)
      .join("");
  child.stdout?.on("data", (chunk: Buffer) => process.stdout.write(prefix(chunk)));
  child.stderr?.on("data", (chunk: Buffer) => process.stderr.write(prefix(chunk)));
  child.once("exit", (code, signal) => {
    if (stopping) return;
    process.stderr.write(`[farm] ${name} exited (${signal ?? `code ${code}`}); stopping the farm\n`);
    void stopAll(1);
  });
  children.push({ name, child });
  return child;
}

async function stopOne(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

async function stopAll(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  // The agent first, so it does not spend the coordinator's shutdown reconnecting.
  for (const { child } of [...children].reverse()) await stopOne(child);
  process.exit(code);
}

async function waitForCoordinator(child: ChildProcess): Promise<void> {
  const body = "<?xml version='1.0'?><methodCall><methodName>ping</methodName></methodCall>";
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error("the coordinator did not start");
    try {
      const res = await fetch(`${local}/RPC2`, { method: "POST", body });
      if ((await res.text()).includes("<boolean>1</boolean>")) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the coordinator did not answer within 60 s");
}

process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));

const coordinator = start("coordinator", "coordinator/main.ts", [
  "--port",
  flags.port,
  "--host",
  flags.host,
  "--data",
  resolve(flags.data),
]);
try {
  await waitForCoordinator(coordinator);
} catch (err) {
  process.stderr.write(`[farm] ${(err as Error).message}\n`);
  await stopAll(1);
}
if (!flags["no-agent"] && existsSync("agent/main.ts")) {
  // The farm secret the coordinator generated (or found in Redis) on first start: the local agent joins
  // with it, through the environment so it does not show in `ps`.
  const secretFile = resolve(flags.data, "farm-secret");
  const env = { ...process.env };
  if (env["OPENHQ_FARM_SECRET"] === undefined && existsSync(secretFile))
    env["OPENHQ_FARM_SECRET"] = readFileSync(secretFile, "utf8").trim();
  // An agent running as root runs jobs as root only when told so: `npm start` as root is a one-machine farm
  // its admin started as root, so it says so, loudly.
  if (process.getuid?.() === 0 && env["OPENHQ_JOB_USER"] === undefined) {
    env["OPENHQ_JOB_USER"] = "root";
    process.stdout.write(
      "npm start runs as root: jobs run as root too (OPENHQ_JOB_USER=USER picks their account)\n",
    );
  }
  start(
    "agent",
    "agent/main.ts",
    [
      "--server",
      local,
      "--port",
      flags["agent-port"],
      "--bind",
      "127.0.0.1",
      "--state-dir",
      resolve(".openhq/agent"),
    ],
    env,
  );
}
process.stdout.write(
  `\nopenhq farm is up: http://localhost:${flags.port}/  (dashboard and XML-RPC)\n` +
    `  Python: xmlrpc.client.ServerProxy("http://localhost:${flags.port}", allow_none=True).ping()\n` +
    `  Ctrl-C stops the farm.\n\n`,
);
