// Starts a real, private redis-server on a free loopback port for a test file, and stops it afterwards
// (startRedis; useRedis registers the file's hooks for it).

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { Redis } from "ioredis";
import { redisServerArgs } from "../../coordinator/redis/server-args.js";
import { freePort } from "./ports.js";

export interface TestRedis {
  url: string;
  port: number;
  dir: string;
  process: ChildProcess;
  /** A fresh client; closed by stop(). */
  client(): Redis;
  stop(): Promise<void>;
}

export interface StartRedisOptions {
  appendonly?: boolean;
  /** Run redis-server through this command prefix (bench/callgrind.ts: under valgrind, slow to start). */
  wrap?: (command: string[]) => string[];
}

export async function startRedis(options: StartRedisOptions = {}): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "openhq-redis-"));
  const command = [
    "redis-server",
    ...redisServerArgs({ port, dir, appendfsync: options.appendonly ? "everysec" : null }),
    // A full sync (a replica, `redis-cli --rdb`) starts at once instead of after Redis' 5 s wait for
    // more replicas to share it.
    "--repl-diskless-sync-delay",
    "0",
  ];
  const [file, ...args] = options.wrap ? options.wrap(command) : command;
  const child = spawn(file as string, args, { stdio: "ignore" });
  const url = `redis://127.0.0.1:${port}`;
  const clients: Redis[] = [];
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  // Refused connects while redis-server starts are expected; connect() rejects, so the event is noise.
  probe.on("error", () => {});
  for (let i = 0; ; i++) {
    try {
      await probe.connect();
      await probe.ping();
      break;
    } catch (err) {
      if (i > (options.wrap ? 600 : 100)) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  await probe.quit();
  return {
    url,
    port,
    dir,
    process: child,
    client() {
      const c = new Redis(url);
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients) c.disconnect();
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A private redis-server for the whole test file: call at the top of the file (it registers the file's
 * before/after hooks). `ready` gets a connection once the server answers, in the same hook (top-level hooks
 * of one file do not wait for each other on Node 20): set up what the tests use there.
 */
export function useRedis(ready: (redis: Redis) => void | Promise<void>): void {
  let server: TestRedis | null = null;
  before(async () => {
    server = await startRedis();
    await ready(server.client());
  });
  after(async () => {
    await server?.stop();
  });
}
