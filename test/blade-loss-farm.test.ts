// Lost blades with real agents (issue 18): a blade SIGKILLed mid-render costs no frame and no render (its
// frames go back to the queue without spending a try); a frame that kills every agent it runs on ends
// `abandoned` at openhq.maxLostAttempts; a killed agent is `available: false` within 10 s; a SIGSTOPped one
// is "not responding" within 15 s (heartbeats every 2 s here), gets no new frame while it stays frozen, and
// openhq.frozenTimeout then gives its frame to another blade.

import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgent, type TestAgent } from "./support/agent.js";
import {
  startCoordinator,
  type StartCoordinatorOptions,
  type TestCoordinator,
} from "./support/coordinator.js";
import { iniArgs, py, waitFinished } from "./support/farm-kit.js";

async function submit(coord: TestCoordinator, spec: object): Promise<number[]> {
  return py<number[]>(coord.url, `out(hq.newjob(${JSON.stringify(JSON.stringify(spec))}))`);
}

/** Waits until the named client satisfies `pred` (Python over its getClients row `c`); returns when (ms). */
async function clientWhen(
  coord: TestCoordinator,
  label: string,
  pred: string,
  timeoutS = 60,
): Promise<number> {
  const at = await py<number | null>(
    coord.url,
    `
import time
deadline = time.time() + ${timeoutS}
while time.time() < deadline:
    c = [c for c in hq.getClients(None, ["label", "available", "responding", "connected", "runningJobs"]) if c["label"].endswith(":${label}")]
    if c and (${pred.replace(/\bc\b/g, "c[0]")}):
        out(time.time())
        break
    time.sleep(0.1)
else:
    out(None)`,
    (timeoutS + 30) * 1000,
  );
  assert.ok(at !== null, `client ${label}: ${pred} did not happen within ${timeoutS} s`);
  return at * 1000;
}

/**
 * A file the test creates when the frames may end, and the shell that waits for it: a frame is surely still
 * running when its blade is killed or frozen however loaded the machine, and its retry ends at once (a fixed
 * sleep ran out under load, or made each retry wait out the whole sleep again).
 */
function release(t: TestContext): { waitCommand: string; now(): void } {
  const dir = mkdtempSync(join(tmpdir(), "openhq-blade-loss-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "release");
  return {
    waitCommand: `until [ -e ${path} ]; do sleep 0.1; done`,
    now: () => writeFileSync(path, ""),
  };
}

/**
 * A coordinator started with `options`, and the agents the test adds to `agents`: all stopped when the test
 * ends, the agents first (a SIGSTOPped one is woken to be stopped).
 */
async function bladeFarm(
  t: TestContext,
  options: StartCoordinatorOptions,
): Promise<{ coord: TestCoordinator; agents: TestAgent[] }> {
  const coord = await startCoordinator(options);
  const agents: TestAgent[] = [];
  t.after(async () => {
    for (const a of agents) {
      a.process.kill("SIGCONT");
      await a.stop();
    }
    await coord.stop();
  });
  return { coord, agents };
}

/**
 * Starts the blade `agent` on `coord` (added to `agents`) and, once it is available, submits `spec`; returns
 * newjob's ids once the blade runs one of them.
 */
async function busyBlade(
  coord: TestCoordinator,
  agents: TestAgent[],
  agent: { name: string; cpus?: number },
  spec: object,
): Promise<number[]> {
  agents.push(await startAgent({ serverUrl: coord.url, ...agent }));
  await clientWhen(coord, agent.name, "c['available']");
  const ids = await submit(coord, spec);
  await clientWhen(coord, agent.name, "len(c['runningJobs']) > 0");
  return ids;
}

const logsOf = (coord: TestCoordinator, ids: number[]) =>
  py<string[][]>(
    coord.url,
    `out([[l[0] for l in hq.getJob(i, ["logs"])["logs"]] for i in ${JSON.stringify(ids)}])`,
  );

test("a blade SIGKILLed mid-render: every frame and the parent succeed, no try spent; the dead blade is unavailable within 10 s", async (t) => {
  const { coord, agents } = await bladeFarm(t, { env: { OPENHQ_HEARTBEAT_INTERVAL: "500" } });
  const frameEnd = release(t);
  // The survivor joins once the victim died holding frames (it cannot take them all first).
  const frames = Array.from({ length: 8 }, (_, i) => ({
    name: `frame ${i}`,
    command: `${frameEnd.waitCommand}; echo rendered`,
  }));
  const render = { name: "render", command: "echo post", children: frames };
  const ids = await busyBlade(coord, agents, { name: "victim", cpus: 4 }, render);
  agents[0]!.process.kill("SIGKILL");
  const killedAt = Date.now();
  frameEnd.now();
  const unavailableAt = await clientWhen(coord, "victim", "not c['available'] and not c['responding']", 30);
  assert.ok(unavailableAt - killedAt < 10_000, `unavailable after ${unavailableAt - killedAt} ms`);
  agents.push(await startAgent({ serverUrl: coord.url, name: "survivor", cpus: 4 }));
  const statuses = await waitFinished(coord.url, ids, 120);
  assert.deepEqual(
    Object.values(statuses).filter((s) => s !== "succeeded"),
    [],
    JSON.stringify(statuses),
  );
  const logs = (await logsOf(coord, ids.slice(1))).flat();
  assert.ok(
    logs.some((l) => /^blade lost: \S+:victim, agent process gone/.test(l)),
    logs.join("\n"),
  );
  assert.ok(!logs.some((l) => /tries left/.test(l)), "no try was spent");
});

test("a frame that kills its own agent ends abandoned after openhq.maxLostAttempts; its parent fails only then", async (t) => {
  const { coord, agents } = await bladeFarm(t, {
    env: { OPENHQ_HEARTBEAT_INTERVAL: "500" },
    args: iniArgs("[main]\nopenhq.maxLostAttempts = 2\n"),
  });
  agents.push(await startAgent({ serverUrl: coord.url, name: "first" }));
  agents.push(await startAgent({ serverUrl: coord.url, name: "second" }));
  await clientWhen(coord, "first", "c['available']");
  await clientWhen(coord, "second", "c['available']");
  // The shell's parent is the agent process.
  const [parent, killer] = (await submit(coord, {
    name: "doomed render",
    command: "echo post",
    children: [{ name: "killer", command: "kill -9 $PPID; sleep 5" }],
  })) as [number, number];
  const statuses = await waitFinished(coord.url, [parent, killer], 90);
  assert.deepEqual(statuses, { [parent]: "failed", [killer]: "abandoned" });
  const [logs] = await logsOf(coord, [killer]);
  const lost = logs!.filter((l) => l.startsWith("blade lost: "));
  assert.equal(lost.length, 2, logs!.join("\n"));
  assert.match(lost[1]!, /\(2 of 2 lost attempts: abandoned\)$/);
  // The frame says why it ended (its lastError, as a failure's last output line does): the loss.
  const lastError = await py<string>(coord.url, `out(hq.getJob(${killer}, ["lastError"])["lastError"])`);
  assert.match(lastError, /^blade lost: \S+:(first|second), agent process gone/);
});

test("a SIGSTOPped blade is not responding within 15 s; openhq.frozenTimeout gives its frame to another blade", async (t) => {
  // Heartbeats every 2 s (not responding after 5 s; 11 s at the default 5 s): the margin absorbs a loaded box.
  // frozenTimeout 8 s (at least two intervals and a second).
  const { coord, agents } = await bladeFarm(t, {
    env: { OPENHQ_HEARTBEAT_INTERVAL: "2000" },
    args: iniArgs("[main]\nopenhq.frozenTimeout = 8\n"),
  });
  const frameEnd = release(t);
  const [id] = (await busyBlade(
    coord,
    agents,
    { name: "frozen" },
    {
      name: "frame",
      command: `${frameEnd.waitCommand}; echo rendered`,
    },
  )) as [number];
  agents[0]!.process.kill("SIGSTOP");
  const stoppedAt = Date.now();
  const silentAt = await clientWhen(coord, "frozen", "not c['responding'] and not c['available']", 30);
  assert.ok(silentAt - stoppedAt < 15_000, `not responding after ${silentAt - stoppedAt} ms`);
  frameEnd.now(); // the frozen blade's attempt ends unreported; the retry on the spare ends at once
  agents.push(await startAgent({ serverUrl: coord.url, name: "spare" }));
  assert.deepEqual(await waitFinished(coord.url, [id], 90), { [id]: "succeeded" });
  const [logs] = await logsOf(coord, [id]);
  assert.ok(
    logs!.some((l) => /^blade lost: \S+:frozen, not responding \(no heartbeat for 8 s\)/.test(l)),
    logs!.join("\n"),
  );
  agents[0]!.process.kill("SIGCONT");
  await clientWhen(coord, "frozen", "c['available'] and c['responding']", 60);
});

// Dispatch reads a blade's liveness from its heartbeats, as getClients does: the held frame's "started" came
// after the last heartbeat, and once counted as a sign of life it let the next frame go to the frozen blade in
// the gap between the two rules (2 of 4 runs on 2026-12-04).
test("a frozen blade with free CPUs gets no new frame before activeTimeout: the next one goes to a blade that answers", async (t) => {
  const { coord, agents } = await bladeFarm(t, { env: { OPENHQ_HEARTBEAT_INTERVAL: "1000" } });
  const heldEnd = release(t);
  const [held] = (await busyBlade(
    coord,
    agents,
    { name: "stopped", cpus: 2 },
    {
      name: "held",
      command: `${heldEnd.waitCommand}; echo rendered`,
    },
  )) as [number];
  agents[0]!.process.kill("SIGSTOP");
  await clientWhen(coord, "stopped", "not c['responding']", 30);
  const [next] = (await submit(coord, { name: "next", command: "echo next" })) as [number];
  agents.push(await startAgent({ serverUrl: coord.url, name: "spare" }));
  assert.deepEqual(await waitFinished(coord.url, [next], 40), { [next]: "succeeded" });
  const [spare, ran] = await py<[number, number[]]>(
    coord.url,
    `out([[c["id"] for c in hq.getClients() if c["name"] == "spare"][0],
            [c["clientId"] for c in hq.getJob(${next}, ["clients"])["clients"]]])`,
  );
  assert.deepEqual(ran, [spare]);
  agents[0]!.process.kill("SIGCONT");
  heldEnd.now();
  assert.deepEqual(await waitFinished(coord.url, [held], 60), { [held]: "succeeded" });
});
