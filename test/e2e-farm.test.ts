// End to end with a real coordinator, real agents (distinct names on one machine) and Python's
// xmlrpc.client: the reference's "submit and poll progress" script, a Houdini-style container whose child
// submits siblings from inside its command, per-name conditions, retries, and cancel killing a process tree.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { hostname } from "node:os";
import { startAgent, type TestAgent } from "./support/agent.js";
import { startCoordinator, type TestCoordinator } from "./support/coordinator.js";
import { py, waitFinished, waitJob } from "./support/farm-kit.js";

let coord: TestCoordinator;
let agents: TestAgent[] = [];
const host = hostname();

before(async () => {
  coord = await startCoordinator({ env: { OPENHQ_HEARTBEAT_INTERVAL: "500" } });
  agents = await Promise.all([
    startAgent({ serverUrl: coord.url, name: "a", cpus: 2 }),
    startAgent({ serverUrl: coord.url, name: "b", cpus: 2 }),
  ]);
  await py(
    coord.url,
    `
import time
while len(hq.getClients()) < 2:
    time.sleep(0.05)
out(True)`,
  );
});
after(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await coord.stop();
});

test("the reference's submit-and-poll-progress script works as written (Python 3)", async () => {
  const result = await py<{ statuses: string[]; progress: number[]; final: string }>(
    coord.url,
    `
import time
hq_server = hq
job_spec = {
    "name" : "Render My Image",
    "shell" : "bash",
    "command": "for i in 1 2 3 4; do echo PROGRESS: $i/4; sleep 0.2; done"
}
job_ids = hq_server.newjob(job_spec)
statuses, progress = [], []
while True:
    job_details = hq_server.getJob(job_ids[0], ["progress", "status"])
    status = job_details["status"]
    statuses.append(status)
    if status in ("succeeded", "failed", "cancelled", "abandoned"):
        break
    progress.append(job_details["progress"])
    print("Progress: %.2f" % (job_details["progress"] * 100), file=sys.stderr)
    time.sleep(0.05)
out({"statuses": statuses, "progress": progress, "final": job_details["status"]})
`,
  );
  assert.equal(result.final, "succeeded");
  assert.ok(result.statuses.includes("running"));
  assert.ok(
    result.progress.some((p) => p > 0 && p < 1),
    JSON.stringify(result.progress),
  );
});

test("a Houdini-style container: a child submits siblings with newjob(spec, JOBID); all finish in order", async () => {
  const submitter = [
    "import os, xmlrpc.client",
    "hq = xmlrpc.client.ServerProxy(os.environ['HQSERVER'], allow_none=True)",
    "ids = hq.newjob([{'name': 'frame %d' % i, 'command': 'echo frame %d' % i} for i in range(3)], os.environ['JOBID'])",
    "print('submitted', ids)",
  ].join("\n");
  const [root] = (await py<number[]>(
    coord.url,
    `out(hq.newjob({"name": "container", "children": [{"name": "generate", "shell": "bash",
      "command": "python3 -c \\"exec(__import__('base64').b64decode('${Buffer.from(submitter).toString("base64")}'))\\""}]}))`,
  )) as [number];
  const done = await waitJob(
    coord.url,
    root,
    ["status", "children"],
    `j["status"] in ("succeeded", "failed")`,
    60,
  );
  if (done.status !== "succeeded") {
    const outputs = await py(coord.url, `out([hq.getJobOutput(c) for c in hq.getJob(${root})["children"]])`);
    assert.fail(JSON.stringify(outputs));
  }
  const tree = await py<{ id: number; name: string; status: string; endTime: unknown; children: number[] }[]>(
    coord.url,
    `
root = hq.getJob(${root})
gen = hq.getJob(root["children"][0])
frames = hq.getJobs(gen["children"], ["id", "name", "status", "endTime", "children"])
out([root, gen] + frames)`,
  );
  const [rootJob, gen, ...frames] = tree;
  assert.equal(frames.length, 3);
  for (const f of frames) assert.equal(f.status, "succeeded");
  const end = (j: { endTime: unknown }) => String((j.endTime as { dateTime: string }).dateTime);
  for (const f of frames) assert.ok(end(f) <= end(gen!));
  assert.ok(end(gen!) <= end(rootJob!));
  const output = await py<string>(coord.url, `out(hq.getJobOutput(${gen!.id}))`);
  assert.match(output, /submitted \[/);
});

test("conditions on hostname:name pick the named agent; retries rerun a failing job", async () => {
  const ids = await py<number[]>(
    coord.url,
    `out(hq.newjob([
  {"name": "on b", "command": "echo $HQHOSTS", "conditions": [{"type": "client", "name": "hostname:name", "op": "==", "value": "${host}:b"}]},
  {"name": "flaky", "shell": "bash", "command": "f=$HQROOT/../flaky.$JOBID; mkdir -p $(dirname $f); if [ -e /tmp/openhq-flaky-$JOBID ]; then exit 0; else touch /tmp/openhq-flaky-$JOBID; exit 3; fi", "triesLeft": 2}
]))`,
  );
  const done = await waitFinished(coord.url, ids);
  assert.deepEqual(Object.values(done), ["succeeded", "succeeded"]);
  const info = await py<{ clients: { hostname: string; clientId: number }[]; triesLeft: number }[]>(
    coord.url,
    `out(hq.getJobs(${JSON.stringify(ids)}, ["clients", "triesLeft"]))`,
  );
  const b = await py<{ id: number }>(coord.url, `out(hq.getClientByName("${host}:b", ["id"]))`);
  assert.equal(info[0]!.clients[0]!.clientId, b.id);
  assert.equal(info[1]!.triesLeft, 1);
  execFileSync("sh", ["-c", `rm -f /tmp/openhq-flaky-${ids[1]}`]);
});

test("cancel kills the whole process tree of a running job", async () => {
  const marker = `${Math.floor(Math.random() * 1e6) + 1000}.5`;
  const [id] = (await py<number[]>(
    coord.url,
    `out(hq.newjob({"name": "tree", "shell": "bash", "command": "sleep ${marker} & sleep ${marker} & echo started; wait"}))`,
  )) as [number];
  await waitJob(coord.url, id, ["status"], `j["status"] == "running"`);
  const count = () =>
    execFileSync("sh", ["-c", `ps -eo args | grep -c "^sleep ${marker}" || true`])
      .toString()
      .trim();
  await waitJob(coord.url, id, ["status"], `"started" in hq.getJobOutput(${id})`);
  assert.equal(count(), "2");
  await py(coord.url, `hq.cancelJobs([${id}]); out(True)`);
  assert.deepEqual(Object.values(await waitFinished(coord.url, [id])), ["cancelled"]);
  for (let i = 0; i < 100 && count() !== "0"; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(count(), "0");
});

test("pause and resume a running job on a real agent: pausing/resuming hold until the agent confirms", async () => {
  const [id] = (await py<number[]>(
    coord.url,
    `out(hq.newjob({"name": "pausable", "shell": "bash", "command": "for i in $(seq 1 30); do echo tick $i; sleep 0.2; done"}))`,
  )) as [number];
  // Waiting and pausing in one Python process: on a loaded machine a second one may start after the job ended.
  await py(
    coord.url,
    `
import time
deadline = time.time() + 60
while hq.getJob(${id}, ["status"])["status"] != "running" and time.time() < deadline:
    time.sleep(0.02)
hq.pauseJobs([${id}])
out(True)`,
  );
  const paused = await waitJob(coord.url, id, ["status"], `j["status"] == "paused"`);
  assert.equal(paused.status, "paused");
  const frozen = await py<string[]>(
    coord.url,
    `
import time
a = hq.getJobOutput(${id})
time.sleep(0.5)
out([a, hq.getJobOutput(${id})])`,
  );
  assert.equal(frozen[0], frozen[1], "no output while paused");
  await py(coord.url, `hq.resumeJobs([${id}]); out(True)`);
  assert.deepEqual(Object.values(await waitFinished(coord.url, [id])), ["succeeded"]);
  const output = await py<string>(coord.url, `out(hq.getJobOutput(${id}))`);
  assert.match(output, /tick 30\n$/);
});

test("a failed child fails its parent, whose onChildError runs on a client (and not its command)", async () => {
  const [root] = (await py<number[]>(
    coord.url,
    `out(hq.newjob({"name": "parent", "shell": "bash", "command": "echo parent command ran",
      "onChildError": "echo child error handled for $JOBID",
      "children": [{"name": "bad child", "command": "exit 7"}]}))`,
  )) as [number];
  const done = await waitJob(coord.url, root, ["status"], `j["status"] in ("succeeded", "failed")`, 60);
  assert.equal(done.status, "failed");
  const output = await py<string>(coord.url, `out(hq.getJobOutput(${root}))`);
  assert.match(output, new RegExp(`child error handled for ${root}`));
  assert.doesNotMatch(output, /parent command ran/);
});
