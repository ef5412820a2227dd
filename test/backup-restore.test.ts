// Issue 22, docs/ADMIN.md "Backup and restore", step by step: a live farm (its own Redis with AOF, a
// generated farm secret, a real agent running real commands) is backed up while it runs (`redis-cli --rdb`,
// the job_logs folder, the farm-secret file), then everything is lost and restored into a fresh redis-server
// and a fresh coordinator on other folders: every job, note and log line is there, and the agent gets back in
// with the same secret and its own credential as the same client.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { Redis } from "ioredis";
import { redisServerArgs } from "../coordinator/redis/server-args.js";
import { startCoordinator } from "./support/coordinator.js";
import { startAgent } from "./support/agent.js";
import { startRedis } from "./support/redis.js";
import { freePort } from "./support/ports.js";
import { PRELUDE, python } from "./support/python.js";
import { eventually } from "./support/eventually.js";

interface Farm {
  jobs: Record<string, { status: string; name: string; note: string; output: string }>;
}

const READ_FARM = `
farm = {"jobs": {}}
for j in sorted(hq.getJobIdsByStatus(["succeeded", "failed"])):
    job = hq.getJob(j, ["name", "status", "latestNote"])
    farm["jobs"][str(j)] = {"status": job["status"], "name": job["name"], "note": job["latestNote"],
        "output": hq.getJobOutput(j)}
out(farm)`;

test("back up a live farm (Redis, job_logs, farm secret), restore into a fresh Redis and coordinator", async (t) => {
  // Torn down the last started first (t.after runs its hooks in the order they were added): a coordinator
  // whose Redis is gone waits out its shutdown limit while agents are linked to it.
  const teardown: (() => unknown)[] = [];
  t.after(async () => {
    for (let step = teardown.pop(); step !== undefined; step = teardown.pop()) await step();
  });
  const scratch = mkdtempSync(join(tmpdir(), "openhq-backup-"));
  teardown.push(() => rmSync(scratch, { recursive: true, force: true }));
  const data = join(scratch, "data");
  const backup = join(scratch, "backup");
  mkdirSync(backup);
  const prefix = "hq:";
  const redis = await startRedis({ appendonly: true });
  teardown.push(() => redis.stop());
  // No farm secret configured: the coordinator generates the farm secret (Redis + <data>/farm-secret).
  const coordinator = await startCoordinator({
    redisUrl: redis.url,
    args: ["--data", data, "--prefix", prefix],
    env: { OPENHQ_FARM_SECRET: "", OPENHQ_JOB_LOGS_DIR: join(data, "job_logs") },
  });
  teardown.push(() => coordinator.stop());
  const secret = readFileSync(join(data, "farm-secret"), "utf8").trim();
  const agentState = join(scratch, "agent-state");
  mkdirSync(agentState, { mode: 0o700 });
  const agent = await startAgent({
    serverUrl: coordinator.url,
    stateDir: agentState,
    env: { OPENHQ_FARM_SECRET: secret },
  });
  teardown.push(() => agent.stop());
  const py = <T>(url: string, code: string) => python<T>(PRELUDE + code, { HQSERVER: url });

  const ids = await py<number[]>(
    coordinator.url,
    `ids = hq.newjob([{"name": f"frame{i}", "command": f"for n in 1 2 3; do echo frame{i} line $n; done"} for i in range(4)])
for j in ids: hq.addNote(f"note on {j}", None, j, None)
out(ids)`,
  );
  await eventually("the jobs to finish", async () => {
    const done = await py<number>(coordinator.url, `out(len(hq.getJobIdsByStatus(["succeeded"])))`);
    return done === ids.length;
  });
  const before = await py<Farm>(coordinator.url, READ_FARM);
  assert.equal(Object.keys(before.jobs).length, ids.length);
  for (const job of Object.values(before.jobs)) {
    assert.match(job.output, /line 3/);
    assert.match(job.note, /^note on \d+$/);
  }

  // The backup, while the farm runs (docs/ADMIN.md): a Redis snapshot, the job log folder, the secret.
  await execa("redis-cli", ["-p", String(redis.port), "--rdb", join(backup, "openhq.rdb")]);
  cpSync(join(data, "job_logs"), join(backup, "job_logs"), { recursive: true });
  cpSync(join(data, "farm-secret"), join(backup, "farm-secret"));

  // The coordinator host is lost.
  await agent.stop();
  await coordinator.stop();
  await redis.stop();

  // The restore: a fresh redis-server loads the snapshot with AOF off, then turns AOF on (a rewrite from
  // memory), so it keeps the data across its next restarts.
  const restoredDir = join(scratch, "redis-restored");
  mkdirSync(restoredDir);
  cpSync(join(backup, "openhq.rdb"), join(restoredDir, "dump.rdb"));
  const port = await freePort();
  const fresh = spawn(
    "redis-server",
    [...redisServerArgs({ port, dir: restoredDir, appendfsync: null, snapshots: true })],
    { stdio: "ignore" },
  );
  teardown.push(() => fresh.kill("SIGKILL"));
  const client = new Redis(`redis://127.0.0.1:${port}`, { lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on("error", () => {});
  teardown.push(() => client.disconnect());
  await eventually("the restored redis-server", async () => (await client.ping().catch(() => "")) === "PONG");
  await client.config("SET", "appendonly", "yes");
  await eventually("the AOF rewrite", async () => {
    const info = await client.info("persistence");
    return /aof_enabled:1/.test(info) && /aof_rewrite_in_progress:0/.test(info);
  });
  const data2 = join(scratch, "data-restored");
  mkdirSync(data2);
  cpSync(join(backup, "job_logs"), join(data2, "job_logs"), { recursive: true });
  cpSync(join(backup, "farm-secret"), join(data2, "farm-secret"));
  // On the lost coordinator's address, as a restore keeps it: the agent's credential is for that address.
  const restored = await startCoordinator({
    port: coordinator.port,
    redisUrl: `redis://127.0.0.1:${port}`,
    args: ["--data", data2, "--prefix", prefix],
    env: { OPENHQ_FARM_SECRET: "", OPENHQ_JOB_LOGS_DIR: join(data2, "job_logs") },
  });
  teardown.push(() => restored.stop());

  assert.deepEqual(await py<Farm>(restored.url, READ_FARM), before);
  assert.equal(readFileSync(join(data2, "farm-secret"), "utf8").trim(), secret);
  // The same agent (its state folder, its credential) gets back in with the same secret, as the same client.
  const back = await startAgent({
    serverUrl: restored.url,
    stateDir: agentState,
    env: { OPENHQ_FARM_SECRET: secret },
  });
  teardown.push(() => back.stop());
  await eventually("the agent to be welcomed", async () => /welcomed as client 1\b/.test(back.output()));
});
