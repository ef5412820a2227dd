// Fault tests with real processes: an agent SIGKILLed mid-job, a coordinator SIGKILLed with jobs in flight
// and restarted, Redis restarted (AOF), two coordinators sharing the agents and the queue. Every job writes
// one line to its own side-effect file, so "executed exactly once" is counted, not assumed.

import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgent, type TestAgent } from "./support/agent.js";
import { startCoordinator } from "./support/coordinator.js";
import { iniArgs, py, waitFinished } from "./support/farm-kit.js";
import { startProxy } from "../scripts/chaos-proxy.js";
import { startRedis } from "./support/redis.js";

const ACTIVE = iniArgs("[main]\nhqserver.activeTimeout = 0.05\n");
// For the coordinator and Redis restarts: agents in their reconnect backoff (up to 30 s), or whose heartbeats
// could not be stored, must not be called lost meanwhile; a 3 s activeTimeout did under load, and their
// finished jobs ran a second time. Nothing in those tests waits for the timeout.
const RESTART_ACTIVE = iniArgs("[main]\nhqserver.activeTimeout = 1\n");
const ENV = { OPENHQ_HEARTBEAT_INTERVAL: "500" };

async function waitClients(url: string, n: number): Promise<void> {
  await py(
    url,
    `
import time
while len([c for c in hq.getClients(None, ["connected"]) if c["connected"]]) < ${n}:
    time.sleep(0.05)
out(True)`,
  );
}

/** Waits until at least n jobs have succeeded. */
async function succeeded(url: string, n: number): Promise<void> {
  await py(
    url,
    `
import time
while len(hq.getJobIdsByStatus(["succeeded"])) < ${n}:
    time.sleep(0.02)
out(True)`,
  );
}

/** n jobs that each append "ran" to <dir>/<JOBID> and print a line naming themselves. */
async function submitCounted(url: string, dir: string, n: number): Promise<number[]> {
  return py<number[]>(
    url,
    `out(hq.newjob([{"name": "count %d" % i, "shell": "bash", "triesLeft": 0,
      "command": "echo ran >> ${dir}/$JOBID; echo output of $JOBID"} for i in range(${n})]))`,
  );
}

/** A temporary folder, removed when the test ends. */
function testDir(t: TestContext, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `openhq-${name}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function executions(dir: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const f of readdirSync(dir))
    out.set(Number(f), readFileSync(join(dir, f), "utf8").split("\n").filter(Boolean).length);
  return out;
}

function assertExactlyOnce(dir: string, ids: number[], statuses: Record<string, string>): void {
  const runs = executions(dir);
  const bad = ids.filter((id) => runs.get(id) !== 1 || statuses[String(id)] !== "succeeded");
  assert.deepEqual(
    bad.map((id) => [id, runs.get(id) ?? 0, statuses[String(id)]]),
    [],
    "every job ran exactly once and succeeded",
  );
}

test("an agent SIGKILLed mid-job: its job is retried on another agent within activeTimeout + a heartbeat", async (t) => {
  const coord = await startCoordinator({ env: ENV, args: ACTIVE });
  const agents: TestAgent[] = [];
  // The first attempt runs until the test removes `dir`, so it is surely running when its agent is killed (a
  // short job could end first on a loaded machine); the retry finds the marker and ends at once.
  const dir = testDir(t, "victim");
  const first = join(dir, "first");
  try {
    agents.push(await startAgent({ serverUrl: coord.url, name: "victim" }));
    await waitClients(coord.url, 1);
    const [id] = (await py<number[]>(
      coord.url,
      `out(hq.newjob({"name": "survive", "command": "if mkdir ${first}; then while [ -d ${dir} ]; do sleep 0.2; done; fi; echo done"}))`,
    )) as [number];
    await py(
      coord.url,
      `
import time
while hq.getJob(${id}, ["status"])["status"] != "running":
    time.sleep(0.05)
out(True)`,
    );
    // The rescuer is up before the kill, so its start-up (seconds on a loaded machine) is not timed.
    agents.push(await startAgent({ serverUrl: coord.url, name: "rescuer" }));
    await waitClients(coord.url, 2);
    agents[0]!.process.kill("SIGKILL");
    const killedAt = Date.now();
    const requeued = await py<number>(
      coord.url,
      `
import time
while not any("blade lost" in l[0] for l in hq.getJob(${id}, ["logs"])["logs"]):
    time.sleep(0.05)
out(True)`,
    );
    assert.ok(requeued);
    const elapsed = Date.now() - killedAt;
    assert.ok(elapsed < 3000 + 500 + 2500, `retried after ${elapsed} ms`);
    assert.deepEqual(Object.values(await waitFinished(coord.url, [id])), ["succeeded"]);
    const job = await py<{ clients: { hostname: string }[] }>(
      coord.url,
      `out(hq.getJob(${id}, ["clients"]))`,
    );
    assert.equal(job.clients.length, 1);
  } finally {
    await Promise.all(agents.map((a) => a.stop()));
    await coord.stop();
  }
});

test("coordinator SIGKILLed with 1,000 jobs in flight and restarted: every job finishes exactly once, output kept", async (t) => {
  const redis = await startRedis({ appendonly: true });
  const dir = testDir(t, "once");
  let coord = await startCoordinator({ redisUrl: redis.url, env: ENV, args: RESTART_ACTIVE });
  const proxy = await startProxy(coord.port);
  const prefix = coord.prefix;
  const agents = await Promise.all(
    ["k1", "k2"].map((name) => startAgent({ serverUrl: proxy.url, name, cpus: 4 })),
  );
  try {
    await waitClients(coord.url, 2);
    const ids = await submitCounted(coord.url, dir, 1000);
    // Let part of the work happen, then kill the coordinator without warning.
    await succeeded(coord.url, 200);
    coord.process.kill("SIGKILL");
    await new Promise((r) => coord.process.once("exit", r));
    coord = await startCoordinator({
      redisUrl: redis.url,
      env: ENV,
      args: [...RESTART_ACTIVE, "--prefix", prefix],
    });
    proxy.retarget(coord.port);
    const statuses = await waitFinished(coord.url, ids, 240);
    assertExactlyOnce(dir, ids, statuses);
    const outputs = await py<string[]>(
      coord.url,
      `out([hq.getJobOutput(i) for i in ${JSON.stringify(ids)}])`,
    );
    const wrong = ids.filter((id, i) => outputs[i] !== `output of ${id}\n`);
    assert.deepEqual(wrong, [], "no output lost or doubled");
  } finally {
    await Promise.all(agents.map((a) => a.stop()));
    await coord.stop();
    await proxy.close();
    await redis.stop();
  }
});

test("Redis restarted (AOF) while jobs run: nothing is lost, each job runs once", async (t) => {
  const redis = await startRedis({ appendonly: true });
  const dir = testDir(t, "redis-restart");
  const coord = await startCoordinator({ redisUrl: redis.url, env: ENV, args: RESTART_ACTIVE });
  const agent = await startAgent({ serverUrl: coord.url, name: "r1", cpus: 4 });
  let second: ReturnType<typeof spawn> | null = null;
  try {
    await waitClients(coord.url, 1);
    const ids = await submitCounted(coord.url, dir, 150);
    await succeeded(coord.url, 30);
    const exited = new Promise((r) => redis.process.once("exit", r));
    redis.process.kill("SIGTERM");
    await exited;
    second = spawn(
      "redis-server",
      [
        "--port",
        String(redis.port),
        "--bind",
        "127.0.0.1",
        "--dir",
        redis.dir,
        "--save",
        "",
        "--appendonly",
        "yes",
      ],
      { stdio: "ignore" },
    );
    const statuses = await waitFinished(coord.url, ids, 240);
    assertExactlyOnce(dir, ids, statuses);
  } finally {
    await agent.stop();
    await coord.stop();
    if (second && second.exitCode === null) {
      const gone = new Promise((r) => second!.once("exit", r));
      second.kill("SIGTERM");
      await gone;
    }
    await redis.stop();
  }
});

test("two coordinators, four agents, 2,000 jobs: each job executed exactly once", async (t) => {
  const redis = await startRedis();
  const dir = testDir(t, "two");
  const one = await startCoordinator({ redisUrl: redis.url, env: ENV });
  const two = await startCoordinator({ redisUrl: redis.url, env: ENV, args: ["--prefix", one.prefix] });
  const agents = await Promise.all(
    ["t1", "t2", "t3", "t4"].map((name, i) =>
      startAgent({ serverUrl: (i % 2 ? two : one).url, name, cpus: 3 }),
    ),
  );
  try {
    await waitClients(one.url, 4);
    const [a, b] = await Promise.all([submitCounted(one.url, dir, 1000), submitCounted(two.url, dir, 1000)]);
    const ids = [...a, ...b];
    const statuses = await waitFinished(two.url, ids, 300);
    assertExactlyOnce(dir, ids, statuses);
    const perClient = await py<number[]>(
      one.url,
      `out([len(hq.getJobHistory(c["id"], 1000)) for c in hq.getClients()])`,
    );
    assert.ok(perClient.filter((n) => n > 0).length >= 3, `work spread over the agents: ${perClient}`);
  } finally {
    await Promise.all(agents.map((x) => x.stop()));
    await two.stop();
    await one.stop();
    await redis.stop();
  }
});
