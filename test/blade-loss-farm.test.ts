// Lost blades with real agents (issue 18): a blade SIGKILLed mid-render costs no frame and no render (its
// frames go back to the queue without spending a try); a frame that kills every agent it runs on ends
// `abandoned` at openhq.maxLostAttempts; a killed agent is `available: false` within 10 s; a SIGSTOPped one
// is "not responding" within 15 s (heartbeats every 2 s here), gets no new frame while it stays frozen, and
// openhq.frozenTimeout then gives its frame to another blade.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgent, type TestAgent } from "./support/agent.js";
import { startCoordinator, type TestCoordinator } from "./support/coordinator.js";
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
function release(): { waitCommand: string; now(): void; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "openhq-blade-loss-"));
  const path = join(dir, "release");
  return {
    waitCommand: `until [ -e ${path} ]; do sleep 0.1; done`,
    now: () => writeFileSync(path, ""),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

const logsOf = (coord: TestCoordinator, ids: number[]) =>
  py<string[][]>(
    coord.url,
    `out([[l[0] for l in hq.getJob(i, ["logs"])["logs"]] for i in ${JSON.stringify(ids)}])`,
  );

test("a blade SIGKILLed mid-render: every frame and the parent succeed, no try spent; the dead blade is unavailable within 10 s", async () => {
  const coord = await startCoordinator({ env: { OPENHQ_HEARTBEAT_INTERVAL: "500" } });
  const agents: TestAgent[] = [];
  const frameEnd = release();
  try {
    // The survivor joins once the victim died holding frames (it cannot take them all first).
    agents.push(await startAgent({ serverUrl: coord.url, name: "victim", cpus: 4 }));
    await clientWhen(coord, "victim", "c['available']");
    const frames = Array.from({ length: 8 }, (_, i) => ({
      name: `frame ${i}`,
      command: `${frameEnd.waitCommand}; echo rendered`,
    }));
    const ids = await submit(coord, { name: "render", command: "echo post", children: frames });
    await clientWhen(coord, "victim", "len(c['runningJobs']) > 0");
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
  } finally {
    for (const a of agents) await a.stop();
    await coord.stop();
    frameEnd.remove();
  }
});

test("a frame that kills its own agent ends abandoned after openhq.maxLostAttempts; its parent fails only then", async () => {
  const coord = await startCoordinator({
    env: { OPENHQ_HEARTBEAT_INTERVAL: "500" },
    args: iniArgs("[main]\nopenhq.maxLostAttempts = 2\n"),
  });
  const agents: TestAgent[] = [];
  try {
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
  } finally {
    for (const a of agents) await a.stop();
    await coord.stop();
  }
});

test("a SIGSTOPped blade is not responding within 15 s; openhq.frozenTimeout gives its frame to another blade", async () => {
  // Heartbeats every 2 s (not responding after 5 s; 11 s at the default 5 s): the margin absorbs a loaded box.
  // frozenTimeout 8 s (at least two intervals and a second).
  const coord = await startCoordinator({
    env: { OPENHQ_HEARTBEAT_INTERVAL: "2000" },
    args: iniArgs("[main]\nopenhq.frozenTimeout = 8\n"),
  });
  const agents: TestAgent[] = [];
  const frameEnd = release();
  try {
    agents.push(await startAgent({ serverUrl: coord.url, name: "frozen" }));
    await clientWhen(coord, "frozen", "c['available']");
    const [id] = (await submit(coord, {
      name: "frame",
      command: `${frameEnd.waitCommand}; echo rendered`,
    })) as [number];
    await clientWhen(coord, "frozen", "len(c['runningJobs']) > 0");
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
  } finally {
    agents[0]?.process.kill("SIGCONT");
    for (const a of agents) await a.stop();
    await coord.stop();
    frameEnd.remove();
  }
});

// Dispatch reads a blade's liveness from its heartbeats, as getClients does: the held frame's "started" came
// after the last heartbeat, and once counted as a sign of life it let the next frame go to the frozen blade in
// the gap between the two rules (2 of 4 runs on 2026-12-04).
test("a frozen blade with free CPUs gets no new frame before activeTimeout: the next one goes to a blade that answers", async () => {
  const coord = await startCoordinator({ env: { OPENHQ_HEARTBEAT_INTERVAL: "1000" } });
  const agents: TestAgent[] = [];
  const heldEnd = release();
  try {
    agents.push(await startAgent({ serverUrl: coord.url, name: "stopped", cpus: 2 }));
    await clientWhen(coord, "stopped", "c['available']");
    const [held] = (await submit(coord, {
      name: "held",
      command: `${heldEnd.waitCommand}; echo rendered`,
    })) as [number];
    await clientWhen(coord, "stopped", "len(c['runningJobs']) > 0");
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
  } finally {
    agents[0]?.process.kill("SIGCONT");
    for (const a of agents) await a.stop();
    await coord.stop();
    heldEnd.remove();
  }
});
