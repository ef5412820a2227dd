// HQueue job semantics on a real farm: a coordinator, a real agent running real commands, and Python's
// xmlrpc.client as the submitter. A running job adds children to itself with newjob(spec, JOBID) and waits
// for them; a failed child fails its parent; triesLeft retries a failing command.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { useOneAgentFarm } from "./support/one-agent-farm.js";
import { py, waitFinished } from "./support/farm-kit.js";

const farm = useOneAgentFarm({ env: { OPENHQ_HEARTBEAT_INTERVAL: "200" } }, 4);
const scratch = mkdtempSync(join(tmpdir(), "openhq-jobs-farm-"));

after(() => rmSync(scratch, { recursive: true, force: true }));

// A job command that submits a child of its own job, the way Houdini's distributed scripts do.
const SPAWN = `python3 -c "
import os, xmlrpc.client
hq = xmlrpc.client.ServerProxy(os.environ['HQSERVER'], allow_none=True)
print(hq.newjob({'name': 'spawned', 'command': 'echo spawned child'}, os.environ['JOBID']))
"`;

test("a running job adds a child with newjob(spec, JOBID) and succeeds once it has", async () => {
  const ids = await py<number[]>(
    farm.url,
    `out(hq.newjob({"name": "root", "children": [{"name": "spawner", "command": ${JSON.stringify(SPAWN)}}]}))`,
  );
  const [root, spawner] = ids as [number, number];
  const statuses = await waitFinished(farm.url, [root]);
  assert.equal(statuses[String(root)], "succeeded");
  const r = await py<Record<string, unknown>>(
    farm.url,
    `
s = hq.getJob(${spawner}, ["status", "children", "progress"])
kid = hq.getJob(s["children"][0], ["status", "parents", "name"])
out({"spawner": s, "kid": kid, "kidOutput": hq.getJobOutput(s["children"][0]), "root": hq.getJob(${root}, ["overallProgress", "startTime"])})
`,
  );
  const spawnerJob = r.spawner as { status: string; children: number[] };
  assert.equal(spawnerJob.status, "succeeded");
  assert.equal(spawnerJob.children.length, 1);
  assert.deepEqual(r.kid, { status: "succeeded", parents: [spawner], name: "spawned" });
  assert.equal(r.kidOutput, "spawned child\n");
  assert.equal((r.root as { overallProgress: number }).overallProgress, 1);
});

test("a failed child fails its parent without running the parent's command", async () => {
  const marker = join(scratch, "parent-ran");
  const ids = await py<number[]>(
    farm.url,
    `out(hq.newjob({"name": "p", "command": "touch ${marker}", "children": [{"name": "bad", "command": "exit 3"}]}))`,
  );
  const statuses = await waitFinished(farm.url, ids);
  assert.deepEqual(Object.values(statuses), ["failed", "failed"]);
  const ran = await py<boolean>(farm.url, `out(os.path.exists(${JSON.stringify(marker)}))`);
  assert.equal(ran, false);
});

test("triesLeft retries a failing command; progress lines set progress", async () => {
  const marker = join(scratch, "tried-once");
  const command = `echo PROGRESS: 1/2; if [ -e ${marker} ]; then echo second; else touch ${marker}; exit 1; fi`;
  const [id] = await py<number[]>(
    farm.url,
    `out(hq.newjob({"name": "flaky", "shell": "bash", "command": ${JSON.stringify(command)}, "triesLeft": 1}))`,
  );
  const statuses = await waitFinished(farm.url, [id!]);
  assert.equal(statuses[String(id)], "succeeded");
  const r = await py<Record<string, unknown>>(
    farm.url,
    `out({"job": hq.getJob(${id}, ["triesLeft", "progress", "clients"]), "output": hq.getJobOutput(${id})})`,
  );
  assert.equal((r.job as { triesLeft: number }).triesLeft, 0);
  assert.equal((r.job as { progress: number }).progress, 1);
  assert.equal(r.output, "PROGRESS: 1/2\nsecond\n");
});
