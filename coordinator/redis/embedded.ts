// The embedded default: with no Redis URL the coordinator runs its own private redis-server and supervises
// it. Data lives under `dir` (AOF on, so a crash loses at most a second of changes), memory is never evicted
// (a farm must not silently lose jobs), the server listens on 127.0.0.1 only and requires a random password
// (other local users cannot reach it). If the child dies it is restarted on the same port; commands issued
// meanwhile wait in the ioredis queue. A child left behind by a coordinator that was killed is stopped first.

import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freeLoopbackPort, waitForPort } from "../../shared/ports.js";
import { redisServerArgs } from "./server-args.js";

export interface EmbeddedRedis {
  url: string;
  port: number;
  dir: string;
  /** pid of the current redis-server child, or null between a crash and the restart. */
  pid(): number | null;
  stop(): Promise<void>;
}

export interface EmbeddedRedisOptions {
  dir: string;
  /** "redis-server" on PATH by default. */
  command?: string;
  log?: (line: string) => void;
}

const MAX_RESTART_DELAY_MS = 5000;

export async function startEmbeddedRedis(options: EmbeddedRedisOptions): Promise<EmbeddedRedis> {
  const { dir } = options;
  const command = options.command ?? "redis-server";
  const log = options.log ?? ((line: string) => console.error(line));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pidFile = join(dir, "redis.pid");
  const ownerFile = join(dir, "coordinator.pid");
  const owner = runningPid(ownerFile, "node");
  if (owner !== null && owner !== process.pid) {
    throw new Error(
      `${dir} is in use by the coordinator with pid ${owner}; give this one another --data DIR`,
    );
  }
  await stopLeftover(pidFile);
  writeFileSync(ownerFile, `${process.pid}\n`);

  const port = await freeLoopbackPort();
  const password = randomBytes(18).toString("base64url");
  const args = redisServerArgs({
    port,
    dir,
    appendfsync: "everysec",
    snapshots: true,
    pidFile,
    password,
    logFile: "redis.log",
  });

  let child: ChildProcess | null = null;
  let stopping = false;
  let restarts = 0;
  let restartTimer: NodeJS.Timeout | null = null;

  const launch = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const proc = spawn(command, args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
      child = proc;
      let stderr = "";
      proc.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
      proc.once("error", (err: NodeJS.ErrnoException) => {
        child = null;
        reject(
          err.code === "ENOENT"
            ? new Error(`${command} not found: install Redis (apt install redis-server) or pass --redis URL`)
            : err,
        );
      });
      proc.once("spawn", () => resolve());
      proc.once("exit", (code, signal) => {
        if (child === proc) child = null;
        if (stopping) return;
        const delay = Math.min(100 * 2 ** Math.min(restarts, 6), MAX_RESTART_DELAY_MS);
        restarts += 1;
        log(
          `openhq-coordinator: private redis-server exited (${signal ?? `code ${code}`})` +
            `${stderr ? `: ${stderr.trim()}` : ""}; restarting in ${delay} ms` +
            ` (see ${join(dir, "redis.log")})`,
        );
        restartTimer = setTimeout(() => {
          restartTimer = null;
          launch().then(
            () =>
              waitForPort(port, 10_000).then(
                () => (restarts = 0),
                () => {},
              ),
            (err: Error) => log(`openhq-coordinator: cannot restart redis-server: ${err.message}`),
          );
        }, delay);
      });
    });

  await launch();
  await waitForPort(port, 15_000).catch((err: Error) => {
    stopping = true;
    (child as ChildProcess | null)?.kill("SIGKILL");
    throw new Error(`private redis-server did not start: ${err.message} (see ${join(dir, "redis.log")})`);
  });

  return {
    url: `redis://:${password}@127.0.0.1:${port}`,
    port,
    dir,
    pid: () => (child as ChildProcess | null)?.pid ?? null,
    async stop() {
      stopping = true;
      if (restartTimer !== null) clearTimeout(restartTimer);
      const proc = child as ChildProcess | null;
      if (proc !== null && proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((resolve) => proc.once("exit", resolve));
        // SIGTERM makes redis-server flush the AOF and exit; SIGKILL only if it hangs.
        proc.kill("SIGTERM");
        const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(ownerFile, { force: true });
    },
  };
}

/** A redis-server from an earlier run (its coordinator was killed) would hold the AOF: stop it. */
async function stopLeftover(pidFile: string): Promise<void> {
  const pid = runningPid(pidFile, "redis-server");
  if (pid === null) return;
  process.kill(pid, "SIGTERM");
  for (let i = 0; i < 200 && existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 50));
}

/** The pid in `file` if that process is alive and its command line contains `name`. */
function runningPid(file: string, name: string): number | null {
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, "utf8").trim());
  if (!Number.isInteger(pid) || pid <= 1) return null;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(name) ? pid : null;
  } catch {
    return null; // not running (or no /proc: nothing we can check safely)
  }
}
