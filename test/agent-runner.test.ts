// The agent's job runner with real processes: process groups, signals, output order and bytes, progress.
import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, createWriteStream } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { AssignMessage, JobEventMessage } from "../shared/protocol.js";
import { Job } from "../agent/job.js";
import { JobsOnDisk } from "../agent/jobs-on-disk.js";
import { createLogger } from "../agent/log.js";
import { procStat } from "../agent/proc.js";
import { assignMessage } from "./support/assign.js";
import { livePids } from "./support/processes.js";
import { eventually } from "./support/eventually.js";

const stateDir = mkdtempSync(join(tmpdir(), "openhq-agent-runner-"));
after(() => rmSync(stateDir, { recursive: true, force: true }));

/** Runs a job with an outlet that records every event and acks it at once, like a healthy coordinator. */
function start(spec: AssignMessage): { job: Job; events: JobEventMessage[]; done: Promise<void> } {
  const events: JobEventMessage[] = [];
  let job: Job | null = null;
  const created = new Job(spec, {
    facts: () => ({
      hqroot: "/mnt/hq",
      arch: "linux-x86_64",
      installDir: "/opt/openhq",
      serverUrl: "http://hq:5000",
      jobEnvironment: { SITE: "test" },
    }),
    log: createLogger(null, false),
    disk: new JobsOnDisk(stateDir),
    account: null,
    spoolDir: join(stateDir, "spool"),
    outlet: {
      isOpen: () => true,
      send: async (text) => {
        const event = JSON.parse(text) as JobEventMessage;
        events.push(event);
        queueMicrotask(() => job?.ack(event.seq));
      },
    },
    spoolLimits: { memoryBytes: 8 << 20, diskBytes: 64 << 20 },
    killGraceMs: 2000,
    platform: process.platform,
    settled: () => {},
  });
  job = created;
  return { job: created, events, done: created.run() };
}

function outputOf(events: JobEventMessage[]): Buffer {
  return Buffer.concat(
    events.flatMap((e) =>
      e.type === "output" ? [Buffer.from(e.data, e.encoding === "base64" ? "base64" : "utf8")] : [],
    ),
  );
}

function finished(events: JobEventMessage[]) {
  const f = events.find((e) => e.type === "finished");
  assert.ok(f && f.type === "finished", "finished event");
  return f;
}

/** Live processes of a group, as ps sees them (zombies waiting for a reaper are already dead). */

describe("agent runner", () => {
  it("cancel kills the whole process group, grandchildren included", async () => {
    const { job, events, done } = start(assignMessage("sleep 1000 & sleep 1000 & echo ready; wait"));
    await eventually("outputOf(events).toString().includes('ready')", () =>
      outputOf(events).toString().includes("ready"),
    );
    const pgid = job.running().pid;
    assert.equal(livePids(pgid).length >= 3, true, `group before cancel: ${livePids(pgid).join(",")}`);
    await job.stop("cancelled", true);
    await done;
    assert.deepEqual(livePids(pgid), []);
    const f = finished(events);
    assert.equal(f.reason, "cancelled");
    assert.equal(f.signal, "SIGTERM");
  });

  it("onCancel runs before the kill, with the job's environment", async () => {
    const { job, events, done } = start(
      assignMessage("echo go; sleep 1000", { onCancel: 'echo "cancel hook $JOBID"' }),
    );
    await eventually("outputOf(events).toString().includes('go')", () =>
      outputOf(events).toString().includes("go"),
    );
    await job.stop("cancelled", true);
    await done;
    assert.match(outputOf(events).toString(), new RegExp(`cancel hook ${job.spec.jobId}`));
  });

  it("pause stops CPU use and resume continues", { skip: process.platform !== "linux" }, async () => {
    const { job, events, done } = start(assignMessage("echo spin; while :; do :; done"));
    await eventually("outputOf(events).toString().includes('spin')", () =>
      outputOf(events).toString().includes("spin"),
    );
    const pid = job.running().pid;
    job.pause();
    assert.ok(events.some((e) => e.type === "paused"));
    await eventually("procStat(pid)?.state === 'T'", () => procStat(pid)?.state === "T");
    const frozen = procStat(pid)?.cpuTicks;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(procStat(pid)?.cpuTicks, frozen);
    job.resume();
    assert.ok(events.some((e) => e.type === "resumed"));
    await eventually(
      "(procStat(pid)?.cpuTicks ?? 0) > (frozen ?? 0)",
      () => (procStat(pid)?.cpuTicks ?? 0) > (frozen ?? 0),
    );
    await job.stop("cancelled", false);
    await done;
  });

  it("keeps stdout and stderr in their exact order", async () => {
    const { events, done } = start(
      assignMessage("for i in $(seq 1 3000); do echo out$i; echo err$i >&2; done"),
    );
    await done;
    const expected = Array.from({ length: 3000 }, (_, i) => `out${i + 1}\nerr${i + 1}\n`).join("");
    assert.equal(outputOf(events).toString(), expected);
    assert.equal(finished(events).exitCode, 0);
  });

  it("PROGRESS and ALF_PROGRESS lines move progress, also when split across chunks", async () => {
    const { events, done } = start(
      assignMessage(
        "printf 'PROG'; sleep 0.3; printf 'RESS: 1/4\\n'; sleep 0.2; echo 'ALF_PROGRESS 50%'; sleep 0.2; echo 'PROGRESS: 4/4'",
      ),
    );
    await done;
    const values = events.flatMap((e) => (e.type === "progress" ? [e.progress] : []));
    assert.deepEqual(values, [0.25, 0.5, 1]);
  });

  it("an unknown shell fails the job with a clear message in its output", async () => {
    const { events, done } = start(assignMessage("echo hi", { shell: "fish-and-chips" }));
    await done;
    assert.match(outputOf(events).toString(), /unknown shell "fish-and-chips"/);
    const f = finished(events);
    assert.equal(f.reason, "spawnError");
  });

  it("gives the job the HQ environment and runs onError on failure", async () => {
    const { events, done } = start(
      assignMessage('echo "$HQROOT|$HQCLIENTARCH|$HQSERVER|$JOBID|$ROOTJOBID|$HQHOSTS|$MINE|$SITE"; exit 4', {
        environment: { MINE: "mine" },
        hosts: ["a", "b"],
        onError: "echo error hook",
        onSuccess: "echo success hook",
        shell: "sh",
      }),
    );
    await done;
    const text = outputOf(events).toString();
    assert.match(
      text,
      /^\/mnt\/hq\|linux-x86_64\|http:\/\/hq:5000\|\d+\|\d+\|a,b\|mine\|test\nerror hook\n$/,
    );
    assert.equal(finished(events).exitCode, 4);
  });

  it("maxTime stops a job that runs too long", async () => {
    const { events, done } = start(assignMessage("sleep 1000", { maxTime: 1 }));
    await done;
    assert.equal(finished(events).reason, "maxTime");
  });

  it("stallTimeout kills a silent run with its whole group and reports it stalled", async () => {
    const { job, events, done } = start(
      assignMessage("echo go; sleep 1000 & sleep 1000", { stallTimeout: 1 }),
    );
    await eventually("job.running().pid > 0", () => job.running().pid > 0);
    const pgid = job.running().pid;
    await done;
    const end = finished(events);
    assert.equal(end.reason, "stalled");
    assert.equal(end.stalledAfter, 1);
    assert.match(outputOf(events).toString(), /openhq-agent: stalled: no output for 1 s/);
    await eventually("livePids(pgid).length === 0", () => livePids(pgid).length === 0);
  });

  it("paused time does not count as stall time; output keeps a run alive", async () => {
    const { job, events, done } = start(
      assignMessage("echo go; for i in 1 2 3 4; do sleep 0.5; echo tick $i; done", { stallTimeout: 2 }),
    );
    await eventually("outputOf(events).includes('go')", () => outputOf(events).includes("go"));
    job.pause();
    // Paused three times as long as the stall timeout: a watch that counted it would kill the run.
    await new Promise((r) => setTimeout(r, 3000));
    job.resume();
    await done;
    assert.equal(finished(events).reason, "exited");
    assert.equal(finished(events).exitCode, 0);
    assert.match(outputOf(events).toString(), /tick 4\n$/);
  });

  it("200 MB of output arrive byte-identical", async () => {
    const file = join(stateDir, "big.bin");
    const hash = createHash("sha256");
    await new Promise<void>((resolve, reject) => {
      const out = createWriteStream(file);
      out.on("error", reject);
      // Mostly text (the common case, sent as UTF-8) with some raw binary (sent as base64).
      const text = Buffer.from("frame 0042 sample 17/256 — ünïcödé ok\n".repeat(1700));
      const binary = Buffer.from(Array.from({ length: 65536 }, (_, i) => (i * 7919) % 256));
      let written = 0;
      const write = (): void => {
        while (written < 200 * 1024 * 1024) {
          const part = written % (8 << 20) === 0 ? binary : text;
          hash.update(part);
          written += part.length;
          if (!out.write(part)) return void out.once("drain", write);
        }
        out.end(resolve);
      };
      write();
    });
    const { events, done } = start(assignMessage(`cat ${file}`));
    await done;
    const got = createHash("sha256");
    let bytes = 0;
    for (const e of events) {
      if (e.type !== "output") continue;
      const b = Buffer.from(e.data, e.encoding === "base64" ? "base64" : "utf8");
      bytes += b.length;
      got.update(b);
    }
    rmSync(file);
    assert.ok(bytes >= 200 * 1024 * 1024);
    assert.equal(got.digest("hex"), hash.digest("hex"));
    const seqs = events.map((e) => e.seq);
    assert.deepEqual(
      seqs,
      seqs.map((_, i) => i + 1),
    );
  });
});
