// Starts a real agent process for a test file (agent/main.ts, support/programs.ts) with its XML-RPC port on a
// free loopback port and its own state folder, and waits until the port answers. stop() sends SIGTERM
// (which kills the agent's running jobs), waits for the exit (SIGKILL after a timeout) and removes the state
// folder it created. Pass `stateDir` to restart an agent on the same state (crash-safety tests).

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitForPort } from "../../shared/ports.js";
import { TEST_FARM_SECRET } from "./farm-secret.js";
import { freePort } from "./ports.js";
import { programArgs } from "./programs.js";

export interface TestAgent {
  /** The agent's XML-RPC port (wakeup, terminate): http://127.0.0.1:<port> */
  port: number;
  stateDir: string;
  logFile: string;
  process: ChildProcess;
  /** Everything the agent wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or signal name) once the process has ended. */
  exited: Promise<number | string>;
  stop(): Promise<void>;
}

export interface StartAgentOptions {
  /** The coordinator, e.g. "http://127.0.0.1:5000" (TestCoordinator.url). */
  serverUrl: string;
  name?: string;
  cpus?: number;
  /** Reuse a state folder (it is then not removed by stop()). */
  stateDir?: string;
  /** Extra command-line arguments (after the defaults, so they win). */
  args?: string[];
  env?: Record<string, string>;
  /** A compiled agent (.js, on plain node) to run instead of agent/main.ts (support/programs.ts). */
  entry?: string;
}

const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 20_000;

export async function startAgent(opts: StartAgentOptions): Promise<TestAgent> {
  const port = await freePort();
  const ownState = opts.stateDir === undefined;
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), "openhq-agent-state-"));
  const logFile = join(stateDir, "agent.log");
  const args = [
    ...(opts.entry === undefined ? programArgs("agent") : [opts.entry]),
    "--server",
    opts.serverUrl,
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--state-dir",
    stateDir,
    "--log-file",
    logFile,
    "--kill-grace",
    "2000",
    ...(opts.name !== undefined ? ["--name", opts.name] : []),
    ...(opts.cpus !== undefined ? ["--cpus", String(opts.cpus)] : []),
    ...(opts.args ?? []),
  ];
  // The developer's own openhq settings must not leak into a test.
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith("OPENHQ_")) delete env[name];
  // Tests run as root in CI containers: the agent then runs jobs as root only when told so.
  const rootJobs = process.getuid?.() === 0 ? { OPENHQ_JOB_USER: "root" } : {};
  Object.assign(env, { OPENHQ_FARM_SECRET: TEST_FARM_SECRET }, rootJobs, opts.env);
  const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-50_000);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "?")),
  );

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    if (ownState) rmSync(stateDir, { recursive: true, force: true });
  };

  try {
    await waitForPort(port, READY_TIMEOUT_MS, () => {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`agent exited (${child.signalCode ?? child.exitCode}) before listening`);
    });
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n--- agent output ---\n${output}`, { cause: err });
  }
  return { port, stateDir, logFile, process: child, output: () => output, exited, stop };
}
