// openhq.redis.waitReplicas: with 1 and no replica, the coordinator neither sends an assignment nor acks
// anything (the job does not run); once a replica is attached, the job runs once and succeeds.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgent } from "./support/agent.js";
import { startCoordinator } from "./support/coordinator.js";
import { iniArgs, py, waitFinished } from "./support/farm-kit.js";
import { freePort } from "./support/ports.js";
import { startRedis } from "./support/redis.js";

test("waitReplicas 1: nothing is sent until a replica confirms the writes", async () => {
  const primary = await startRedis();
  const marks = mkdtempSync(join(tmpdir(), "openhq-marks-"));
  const coord = await startCoordinator({
    redisUrl: primary.url,
    env: { OPENHQ_HEARTBEAT_INTERVAL: "500" },
    args: iniArgs("[main]\nopenhq.redis.waitReplicas = 1\n"),
  });
  const agent = await startAgent({ serverUrl: coord.url, name: "waits" });
  const replicaPort = await freePort();
  let replica: ReturnType<typeof spawn> | null = null;
  try {
    const [id] = (await py<number[]>(
      coord.url,
      `out(hq.newjob({"name": "needs a replica", "shell": "bash", "command": "echo ran >> ${marks}/$JOBID; echo hi"}))`,
    )) as [number];
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(existsSync(join(marks, String(id))), false, "no assignment left without a replica");
    replica = spawn(
      "redis-server",
      [
        "--port",
        String(replicaPort),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--replicaof",
        "127.0.0.1",
        String(primary.port),
      ],
      { stdio: "ignore" },
    );
    assert.deepEqual(await waitFinished(coord.url, [id], 60), { [id]: "succeeded" });
    assert.equal(readFileSync(join(marks, String(id)), "utf8"), "ran\n");
    assert.equal(await py<string>(coord.url, `out(hq.getJobOutput(${id}))`), "hi\n");
  } finally {
    replica?.kill("SIGKILL");
    await agent.stop();
    await coord.stop();
    await primary.stop();
    rmSync(marks, { recursive: true, force: true });
  }
});
