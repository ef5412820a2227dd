// Redis through Sentinel: the coordinator asks a real redis-sentinel for the primary (the --redis URL given
// here points nowhere, so only the Sentinel route can work).

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startCoordinator } from "./support/coordinator.js";
import { freePort } from "./support/ports.js";
import { PRELUDE, python } from "./support/python.js";
import { startRedis } from "./support/redis.js";

test("connects to the primary that Sentinel names", async () => {
  const primary = await startRedis();
  const dir = mkdtempSync(join(tmpdir(), "openhq-sentinel-"));
  const port = await freePort();
  const conf = join(dir, "sentinel.conf");
  writeFileSync(conf, `port ${port}\nbind 127.0.0.1\nsentinel monitor farm 127.0.0.1 ${primary.port} 1\n`);
  const sentinel = spawn("redis-server", [conf, "--sentinel"], { stdio: "ignore" });
  try {
    const coordinator = await startCoordinator({
      redisUrl: "redis://127.0.0.1:1",
      env: { OPENHQ_REDIS_SENTINELS: `127.0.0.1:${port}`, OPENHQ_REDIS_NAME: "farm" },
    });
    try {
      const gid = await python<number>(PRELUDE + `out(hq.createClientGroup("via-sentinel"))`, {
        HQSERVER: coordinator.url,
      });
      assert.equal(await primary.client().hget(coordinator.keys.group(gid), "name"), "via-sentinel");
    } finally {
      await coordinator.stop();
    }
  } finally {
    const exited = new Promise((r) => sentinel.once("exit", r));
    sentinel.kill("SIGTERM");
    await exited;
    await primary.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
