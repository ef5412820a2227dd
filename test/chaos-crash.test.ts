// Crash recovery in seconds, with the default activeTimeout (5 minutes): an agent SIGKILLed mid-job (its
// client port now refuses) has its job retried elsewhere within 15 s without spending a try; an agent
// SIGKILLed and restarted on the same state reports the attempt it killed and gets it retried at once; a link cut (the agent alive behind a
// proxy) keeps the job running on its attempt and loses no output.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startProxy } from "../scripts/chaos-proxy.js";
import { startAgent, type TestAgent } from "./support/agent.js";
import { startCoordinator, type TestCoordinator } from "./support/coordinator.js";
import { py, waitFinished, waitJob } from "./support/farm-kit.js";

const ENV = { OPENHQ_HEARTBEAT_INTERVAL: "500" };
/** waitJob's condition: the job's logs record a lost blade. */
const LOST = `any(l[0].startswith("blade lost") for l in j["logs"])`;

/**
 * A job that runs until the test creates a file: surely still running when its agent is killed however
 * loaded the machine, and its retry ends at once (a fixed sleep made the retry sleep it all again).
 */
function heldJob(): { command: string; release(): void; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "openhq-crash-"));
  const path = join(dir, "release");
  return {
    command: `until [ -e ${path} ]; do sleep 0.1; done; echo done`,
    release: () => writeFileSync(path, ""),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function submit(coord: TestCoordinator, spec: object): Promise<number> {
  const [id] = await py<number[]>(coord.url, `out(hq.newjob(${JSON.stringify(JSON.stringify(spec))}))`);
  return id as number;
}

test("an agent SIGKILLed mid-job (port refused) has its job retried elsewhere within 15 s", async () => {
  const coord = await startCoordinator({ env: ENV });
  const agents: TestAgent[] = [];
  const held = heldJob();
  try {
    agents.push(await startAgent({ serverUrl: coord.url, name: "victim" }));
    const id = await submit(coord, { name: "crash me", command: held.command, triesLeft: 1 });
    await waitJob(coord.url, id, ["status"], `j["status"] == "running"`);
    agents.push(await startAgent({ serverUrl: coord.url, name: "rescuer" }));
    agents[0]!.process.kill("SIGKILL");
    const killedAt = Date.now();
    held.release();
    const job = await waitJob(coord.url, id, ["status", "triesLeft", "logs"], LOST, 20);
    const seconds = (Date.now() - killedAt) / 1000;
    assert.equal(job.triesLeft, 1, `a lost machine spends no try: ${JSON.stringify(job)}`);
    assert.ok(seconds < 15, `retried after ${seconds} s`);
    assert.ok(
      (job.logs as [string][]).some((l) => /^blade lost: \S+:victim, agent process gone/.test(l[0])),
      JSON.stringify(job.logs),
    );
    assert.deepEqual(await waitFinished(coord.url, [id], 30), { [id]: "succeeded" });
  } finally {
    for (const a of agents) await a.stop();
    await coord.stop();
    held.remove();
  }
});

test("an agent SIGKILLed and restarted reports the attempt it killed: retried at once", async () => {
  const coord = await startCoordinator({ env: ENV });
  let agent = await startAgent({ serverUrl: coord.url, name: "phoenix" });
  const stateDir = agent.stateDir;
  const held = heldJob();
  try {
    const id = await submit(coord, { name: "restart me", command: held.command, triesLeft: 1 });
    await waitJob(coord.url, id, ["status"], `j["status"] == "running"`);
    agent.process.kill("SIGKILL");
    await agent.exited;
    held.release();
    agent = await startAgent({ serverUrl: coord.url, name: "phoenix", stateDir });
    const job = await waitJob(coord.url, id, ["triesLeft", "logs"], LOST, 15);
    assert.equal(job.triesLeft, 1, JSON.stringify(job));
    assert.ok(
      (job.logs as [string][]).some((l) =>
        /^blade lost: \S+:phoenix, (agent restarted|agent process gone)/.test(l[0]),
      ),
      JSON.stringify(job.logs),
    );
    assert.deepEqual(await waitFinished(coord.url, [id], 30), { [id]: "succeeded" });
    assert.equal(await py<string>(coord.url, `out(hq.getJobOutput(${id}))`), "done\n");
  } finally {
    await agent.stop();
    await coord.stop();
    held.remove();
  }
});

test("a link cut of 8 s keeps the job on its attempt and loses no output", async () => {
  const coord = await startCoordinator({ env: ENV });
  const proxy = await startProxy(coord.port);
  const agent = await startAgent({ serverUrl: proxy.url, name: "cut" });
  try {
    const id = await submit(coord, {
      name: "through a cut",
      shell: "bash",
      command: "for i in $(seq 1 100); do echo line $i; sleep 0.1; done",
    });
    await waitJob(coord.url, id, ["status"], `"line 10\\n" in hq.getJobOutput(${id})`);
    // The job cannot finish before the cut ends: its agent's messages go through the proxy.
    proxy.cut(8000);
    assert.deepEqual(await waitFinished(coord.url, [id], 60), { [id]: "succeeded" });
    const job = await py<{ attempt: number }>(coord.url, `out(hq.getJob(${id}, ["attempt"]))`);
    assert.equal(job.attempt, 1);
    const expected = Array.from({ length: 100 }, (_, i) => `line ${i + 1}\n`).join("");
    assert.equal(await py<string>(coord.url, `out(hq.getJobOutput(${id}))`), expected);
  } finally {
    await agent.stop();
    await proxy.close();
    await coord.stop();
  }
});
