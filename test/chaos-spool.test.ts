// The agent's journal (agent/spool.ts): an attempt that ended while the link was down, under an agent that
// was then SIGKILLed, is replayed by the restarted agent (its output and `finished` land, the job is not
// run again); and a spool on a full disk (a 1 MB tmpfs) degrades to memory with backpressure instead of
// crashing the agent or losing output.

import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Spool } from "../agent/spool.js";
import { startProxy } from "../scripts/chaos-proxy.js";
import { startAgent } from "./support/agent.js";
import { startCoordinator } from "./support/coordinator.js";
import { py, waitFinished, waitJob } from "./support/farm-kit.js";
import { eventually } from "./support/eventually.js";

const ENV = { OPENHQ_HEARTBEAT_INTERVAL: "500" };

/**
 * Mounts a tmpfs of `size` on `dir` for a full disk; where this box cannot (it needs root), skips the test,
 * removes `scratch` and returns false.
 */
function mountTmpfs(t: TestContext, dir: string, size: string, scratch: string): boolean {
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir], { stdio: "ignore" });
    return true;
  } catch {
    rmSync(scratch, { recursive: true, force: true });
    t.skip("cannot mount a tmpfs here (needs root)");
    return false;
  }
}

test("a restarted agent replays the journal of an attempt that ended while it was cut off", async () => {
  const coord = await startCoordinator({ env: ENV });
  const proxy = await startProxy(coord.port);
  const marks = mkdtempSync(join(tmpdir(), "openhq-marks-"));
  let agent = await startAgent({ serverUrl: proxy.url, name: "journal" });
  const stateDir = agent.stateDir;
  try {
    const [id] = (await py<number[]>(
      coord.url,
      `out(hq.newjob({"name": "ends offline", "shell": "bash", "triesLeft": 2,
        "command": "echo ran >> ${marks}/$JOBID; for i in $(seq 1 30); do echo line $i; sleep 0.05; done"}))`,
    )) as [number];
    await waitJob(coord.url, id, ["status"], `"line 3\\n" in hq.getJobOutput(${id})`);
    proxy.cut(60_000);
    // The job ends while cut off (the agent journals the finish before it logs it); then the agent dies
    // before it could report the rest.
    await eventually(`job ${id} to end while cut off`, () =>
      new RegExp(`Finished job ${id}\\b`).test(readFileSync(agent.logFile, "utf8")),
    );
    agent.process.kill("SIGKILL");
    await agent.exited;
    agent = await startAgent({ serverUrl: coord.url, name: "journal", stateDir });
    assert.deepEqual(await waitFinished(coord.url, [id], 30), { [id]: "succeeded" });
    const expected = Array.from({ length: 30 }, (_, i) => `line ${i + 1}\n`).join("");
    assert.equal(await py<string>(coord.url, `out(hq.getJobOutput(${id}))`), expected);
    assert.equal(readFileSync(join(marks, String(id)), "utf8"), "ran\n", "ran once");
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(
      execFileSync("ls", [join(stateDir, "spool")], { encoding: "utf8" }),
      "",
      "journal removed",
    );
  } finally {
    await agent.stop();
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(marks, { recursive: true, force: true });
    await proxy.close();
    await coord.stop();
  }
});

test("a full disk under the spool: the job's 12 MB of output survive a link cut, the agent lives", async (t) => {
  const stateDir = mkdtempSync(join(tmpdir(), "openhq-agent-state-"));
  const spoolDir = join(stateDir, "spool");
  mkdirSync(spoolDir);
  if (!mountTmpfs(t, spoolDir, "1m", stateDir)) return;
  const coord = await startCoordinator({ env: ENV });
  const proxy = await startProxy(coord.port);
  const agent = await startAgent({ serverUrl: proxy.url, name: "diskfull", stateDir });
  try {
    // 120,000 lines of 100 bytes: more than the 8 MB memory spool and far more than the 1 MB disk.
    const [id] = (await py<number[]>(
      coord.url,
      `out(hq.newjob({"name": "floods", "shell": "bash",
        "command": "sleep 1; python3 -c 'import sys\\nfor i in range(120000): sys.stdout.write(\\"%099d\\\\n\\" % i)'"}))`,
    )) as [number];
    await waitJob(coord.url, id, ["status"], `j["status"] == "running"`);
    proxy.cut(5000);
    assert.deepEqual(await waitFinished(coord.url, [id], 120), { [id]: "succeeded" });
    const check = await py<[number, boolean]>(
      coord.url,
      `
o = hq.getJobOutput(${id})
out([len(o), o == "".join("%099d\\n" % i for i in range(120000))])`,
    );
    assert.deepEqual(check, [12_000_000, true]);
    assert.equal(agent.process.exitCode, null, "the agent is still running");
  } finally {
    await agent.stop();
    await proxy.close();
    await coord.stop();
    execFileSync("umount", ["-l", spoolDir], { stdio: "ignore" });
    rmSync(stateDir, { recursive: true, force: true });
  }
});

test("the disk fills after events went to the journal only: they are still resent, in order", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "openhq-spool-"));
  if (!mountTmpfs(t, dir, "64k", dir)) return;
  try {
    let open = false;
    const sent: number[] = [];
    const outlet = {
      isOpen: () => open,
      send: async (text: string) => void sent.push((JSON.parse(text) as { seq: number }).seq),
    };
    const spool = new Spool(5, 1, dir, outlet, { memoryBytes: 2000, diskBytes: 1 << 20 });
    const push = () => spool.push({ type: "output", jobId: 5, attempt: 1, data: "y".repeat(200) });
    for (let i = 0; i < 40; i++) push(); // link down: most of these now live in the journal only
    try {
      writeFileSync(join(dir, "filler"), Buffer.alloc(128 << 10));
    } catch {
      // ENOSPC: full, as intended
    }
    for (let i = 0; i < 10; i++) push(); // the journal fails: these stay in memory
    open = true;
    await spool.resend();
    assert.deepEqual(
      sent,
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    spool.ack(50);
    assert.equal(spool.settled(), true);
  } finally {
    execFileSync("umount", ["-l", dir], { stdio: "ignore" });
    rmSync(dir, { recursive: true, force: true });
  }
});
