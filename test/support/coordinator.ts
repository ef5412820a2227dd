// Starts a real coordinator process for a test file (coordinator/main.ts, support/programs.ts) on a free
// loopback port, against the given Redis or a fresh private one (test/support/redis.ts), with a unique key
// prefix, and waits until it answers `ping` over XML-RPC. stop() sends SIGTERM, waits for the exit
// (SIGKILL after a timeout) and stops the Redis it started.

import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Keys } from "../../coordinator/store/keys.js";
import { TEST_FARM_SECRET } from "./farm-secret.js";
import { freePort } from "./ports.js";
import { programArgs } from "./programs.js";
import { startRedis, type TestRedis } from "./redis.js";

export interface TestCoordinator {
  url: string;
  port: number;
  redisUrl: string;
  /** The unique Redis key prefix this coordinator uses (e.g. "t1a2b3c4d:"). */
  prefix: string;
  /** The key schema under that prefix. */
  keys: Keys;
  /** Its job_logs_dir (OPENHQ_JOB_LOGS_DIR): where a store of the test on its farm keeps logs too. */
  jobLogsDir: string | undefined;
  process: ChildProcess;
  /** Everything the coordinator wrote to stdout and stderr so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

export interface StartCoordinatorOptions {
  /** Use this Redis; otherwise a private redis-server is started and stopped with the coordinator. */
  redisUrl?: string;
  /** Extra command-line arguments (after the defaults, so they win). */
  args?: string[];
  env?: Record<string, string>;
  /** Start without --redis: the coordinator runs its own embedded redis-server (give --data in args). */
  embedded?: boolean;
  /** Listen on this port instead of a free one (restart-on-the-same-port tests). */
  port?: number;
  /**
   * env names a certificate (OPENHQ_TLS_CERT/KEY): the URL is https://, and the coordinator is ready once it
   * says it listens on https:// (a ping would need its CA).
   */
  https?: boolean;
  /** Listen on this address instead of 127.0.0.1 (a host of test/support/netns.ts). */
  host?: string;
  /**
   * Start the coordinator through this command prefix (e.g. a netns host's wrap()); the coordinator is then
   * ready once it says it listens, since this process may not reach its address.
   */
  wrap?: (command: string[]) => string[];
}

/** Where test coordinators keep job logs unless told otherwise (a folder per key prefix in it). */
export const TEST_JOB_LOGS_DIR = join(tmpdir(), "openhq-test-job-logs");

const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

export async function startCoordinator(opts: StartCoordinatorOptions = {}): Promise<TestCoordinator> {
  let redis: TestRedis | null = null;
  let redisUrl = opts.redisUrl ?? "";
  if (!opts.embedded && redisUrl === "") {
    redis = await startRedis();
    redisUrl = redis.url;
  }
  const host = opts.host ?? "127.0.0.1";
  const port = opts.port ?? (await freePort());
  const prefix = prefixArg(opts.args) ?? `t${randomBytes(4).toString("hex")}:`;
  const args = [
    ...programArgs("coordinator"),
    "--port",
    String(port),
    "--host",
    host,
    "--prefix",
    prefix,
    ...(opts.embedded ? [] : ["--redis", redisUrl]),
    ...(opts.args ?? []),
  ];
  // The developer's own openhq settings (and any ./hqserver.ini) must not leak into a test.
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env))
    if (name.startsWith("OPENHQ_") || name === "REDIS_URL") delete env[name];
  Object.assign(env, { OPENHQ_CONFIG: "", OPENHQ_FARM_SECRET: TEST_FARM_SECRET }, opts.env);
  // Job logs of test farms go to one scratch folder (a folder per key prefix in it), not the user's data dir.
  if (!opts.embedded && env["OPENHQ_JOB_LOGS_DIR"] === undefined)
    env["OPENHQ_JOB_LOGS_DIR"] = TEST_JOB_LOGS_DIR;
  const [file, ...argv] = opts.wrap ? opts.wrap([process.execPath, ...args]) : [process.execPath, ...args];
  const child = spawn(file as string, argv, { env, stdio: ["ignore", "pipe", "pipe"] });
  // If the test process ends without stop() (a crash, process.exit), take the processes along.
  // SIGTERM for the coordinator: it still stops an embedded redis-server of its own on the way out.
  const orphanGuard = () => {
    child.kill("SIGTERM");
    redis?.process.kill("SIGKILL");
  };
  process.once("exit", orphanGuard);
  let output = "";
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const scheme = opts.https ? "https" : "http";
  const url = `${scheme}://${host}:${port}`;

  const stop = async () => {
    process.off("exit", orphanGuard);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    await redis?.stop();
  };

  try {
    await (opts.https || opts.wrap
      ? waitForLine(`listening on ${scheme}://`, () => output, child)
      : waitForPing(url, child));
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n--- coordinator output ---\n${output}`, { cause: err });
  }
  const jobLogsDir = env["OPENHQ_JOB_LOGS_DIR"];
  return {
    url,
    port,
    redisUrl,
    prefix,
    keys: new Keys(prefix),
    jobLogsDir,
    process: child,
    output: () => output,
    stop,
  };
}

const PING = `<?xml version="1.0"?><methodCall><methodName>ping</methodName><params></params></methodCall>`;

async function waitForPing(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`coordinator exited (${child.signalCode ?? child.exitCode}) before answering ping`);
    }
    try {
      const res = await fetch(`${url}/RPC2`, {
        method: "POST",
        headers: { "content-type": "text/xml" },
        body: PING,
      });
      const body = await res.text();
      if (res.ok && /<boolean>1<\/boolean>/.test(body)) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(`coordinator did not answer ping within ${READY_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function waitForLine(line: string, output: () => string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!output().includes(line)) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`coordinator exited (${child.signalCode ?? child.exitCode}) before saying "${line}"`);
    if (Date.now() > deadline)
      throw new Error(`coordinator did not say "${line}" within ${READY_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function prefixArg(args: string[] | undefined): string | undefined {
  const i = args?.lastIndexOf("--prefix") ?? -1;
  return i >= 0 ? args?.[i + 1] : undefined;
}
