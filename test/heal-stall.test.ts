// Hung frames (issue 18, item 4) on a real coordinator with openhq.stallTimeout set, a real agent and Python's
// xmlrpc.client: a frame that sleeps silently past the timeout is killed with every process it started and
// retried; one that prints regularly is not; a job's own stallTimeout (inherited by its children, 0 = off)
// wins over the farm's; bad values are Faults that create nothing.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assignMessage } from "../coordinator/scheduler/assign.js";
import { useOneAgentFarm } from "./support/one-agent-farm.js";
import { py, waitFinished } from "./support/farm-kit.js";

const FARM_STALL_S = 2;
const farm = useOneAgentFarm(
  {
    env: { OPENHQ_HEARTBEAT_INTERVAL: "500", OPENHQ_STALL_TIMEOUT: String(FARM_STALL_S) },
  },
  4,
);
const dir = mkdtempSync(join(tmpdir(), "openhq-stall-"));

after(() => rmSync(dir, { recursive: true, force: true }));

function sleepers(marker: string): number {
  const out = execFileSync("sh", ["-c", `ps -eo args | grep -c "^sleep ${marker}" || true`]).toString();
  return Number(out.trim());
}

test("a frame sleeping silently past the farm's stallTimeout is killed, its processes too, and retried", async () => {
  const marker = `${Math.floor(Math.random() * 1e6) + 1000}.5`;
  const flag = join(dir, "first-attempt-ran");
  // The first attempt hangs (two silent sleeps, one in the background); the retry finishes at once.
  const [id] = (await py<number[]>(
    farm.url,
    `out(hq.newjob({"name": "hangs once", "shell": "bash", "triesLeft": 1,
      "command": "echo start; if [ ! -e ${flag} ]; then touch ${flag}; sleep ${marker} & sleep ${marker}; fi; echo done"}))`,
  )) as [number];
  assert.deepEqual(Object.values(await waitFinished(farm.url, [id])), ["succeeded"]);
  const job = await py<{ attempt: number; triesLeft: number; logs: string[]; stallTimeout: null }>(
    farm.url,
    `j = hq.getJob(${id}, ["attempt", "triesLeft", "logs", "stallTimeout"])
j["logs"] = [t for t, _ in j["logs"]]
out(j)`,
  );
  assert.equal(job.attempt, 2, JSON.stringify(job));
  assert.equal(job.triesLeft, 0);
  assert.equal(job.stallTimeout, null, "the job set none: the farm's applies");
  assert.ok(job.logs.includes(`stalled: no output for ${FARM_STALL_S} s`), JSON.stringify(job.logs));
  assert.ok(
    job.logs.some((t) => t.startsWith("rescheduled")),
    JSON.stringify(job.logs),
  );
  // The whole tree went with the first attempt, the background sleep included.
  for (let i = 0; i < 100 && sleepers(marker) !== 0; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(sleepers(marker), 0);
});

test("a frame printing regularly is not killed; a job's own stallTimeout, inherited, and 0 = off win", async () => {
  const [parent, ticking, quiet] = (await py<number[]>(
    farm.url,
    `out(hq.newjob({"name": "shot", "stallTimeout": 3, "children": [
      {"name": "ticks", "shell": "bash", "command": "for i in $(seq 1 12); do echo PROGRESS: $i/12; sleep 0.4; done"},
      {"name": "quiet but allowed", "stallTimeout": 0, "shell": "bash", "command": "sleep ${FARM_STALL_S + 2}; echo ok"}]}))`,
  )) as [number, number, number];
  assert.deepEqual(Object.values(await waitFinished(farm.url, [parent])), ["succeeded"]);
  const jobs = await py<{ id: number; attempt: number; stallTimeout: number }[]>(
    farm.url,
    `out(hq.getJobs([${ticking}, ${quiet}], ["id", "attempt", "stallTimeout"]))`,
  );
  assert.deepEqual(
    jobs.map((j) => [j.attempt, j.stallTimeout]),
    [
      [1, 3],
      [1, 0],
    ],
  );
});

test("a bad stallTimeout is a Fault naming the field, and creates nothing", async () => {
  const result = await py<{ faults: string[]; before: number; after: number }>(
    farm.url,
    `
import xmlrpc.client
before = len(hq.getJobIdsByStatus(["queued", "runnable", "running", "succeeded", "failed", "cancelled", "abandoned"]))
faults = []
for bad in [-1, 2592001, "soon"]:
    try:
        hq.newjob({"name": "bad", "command": "true", "children": [{"name": "c", "command": "true", "stallTimeout": bad}]})
        faults.append("accepted %r" % (bad,))
    except xmlrpc.client.Fault as f:
        faults.append(f.faultString)
after = len(hq.getJobIdsByStatus(["queued", "runnable", "running", "succeeded", "failed", "cancelled", "abandoned"]))
out({"faults": faults, "before": before, "after": after})`,
  );
  assert.equal(result.faults.length, 3);
  for (const f of result.faults) assert.match(f, /jobspec\[0\]\.children\[0\]\.stallTimeout/);
  assert.equal(result.after, result.before);
});

test("assign carries the job's stallTimeout, else the farm's, to the master host only", () => {
  const clients = JSON.stringify([
    { hostname: "a", clientId: 1, master: true },
    { hostname: "b", clientId: 2, master: false },
  ]);
  const job = (extra: Record<string, string>) => ({
    id: "7",
    attempt: "1",
    name: "j",
    command: "true",
    clients,
    ...extra,
  });
  assert.equal(assignMessage(job({}), 1, "linux", 0)?.stallTimeout, null, "off by default");
  assert.equal(assignMessage(job({}), 1, "linux", 30)?.stallTimeout, 30, "the farm's");
  assert.equal(assignMessage(job({ stallTimeout: "5" }), 1, "linux", 30)?.stallTimeout, 5, "the job's wins");
  assert.equal(assignMessage(job({ stallTimeout: "0" }), 1, "linux", 30)?.stallTimeout, null, "0 = off");
  assert.equal(
    assignMessage(job({ stallTimeout: "5" }), 2, "linux", 30)?.stallTimeout,
    null,
    "not the master",
  );
});
