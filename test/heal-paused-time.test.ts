// Paused time is not run time (issue 18, item 6), on a real coordinator, a real agent and Python's
// xmlrpc.client: a frame paused for several seconds on its agent reports a `runTime` without the pause, in the
// API, the frame table's Duration and the render-time chart, while startTime/endTime keep HQueue's meaning
// (the wall clock, pause included).

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startAgent, type TestAgent } from "./support/agent.js";
import { startCoordinator, type TestCoordinator } from "./support/coordinator.js";
import { py, waitFinished, waitJob } from "./support/farm-kit.js";

let coord: TestCoordinator;
let agent: TestAgent;

before(async () => {
  coord = await startCoordinator({ env: { OPENHQ_HEARTBEAT_INTERVAL: "500" } });
  agent = await startAgent({ serverUrl: coord.url, cpus: 2 });
  await py(coord.url, `import time\nwhile len(hq.getClients()) < 1:\n    time.sleep(0.05)\nout(True)`);
});
after(async () => {
  await agent.stop();
  await coord.stop();
});

/** Seconds the frame stays paused (the check says 10 s; 6 s keeps the test short and still tells). */
const PAUSE_S = 6;

test("a frame paused for a while reports a run time without the pause: API, frame table and chart", async () => {
  // About 4 s of work in 40 ticks; paused as soon as it runs.
  const [parent] = (await py<number[]>(
    coord.url,
    `out(hq.newjob({"name": "shot", "children": [{"name": "frame 1", "shell": "bash",
      "command": "for i in $(seq 1 40); do echo tick $i; sleep 0.1; done"}]}))`,
  )) as [number];
  const [frame] = (await py<number[]>(coord.url, `out(hq.getJob(${parent}, ["children"])["children"])`)) as [
    number,
  ];
  await py(
    coord.url,
    `
import time
while hq.getJob(${frame}, ["status"])["status"] != "running":
    time.sleep(0.02)
hq.pauseJobs([${frame}])
out(True)`,
  );
  const state = await waitJob(coord.url, frame, ["status"], `j["status"] != "pausing"`);
  assert.equal(state.status, "paused");
  const paused = await py<{ a: number; b: number }>(
    coord.url,
    `
import time
a = hq.getJob(${frame}, ["runTime"])["runTime"]
time.sleep(1)
out({"a": a, "b": hq.getJob(${frame}, ["runTime"])["runTime"]})`,
  );
  assert.equal(paused.a, paused.b, "runTime stands still while the frame is paused");
  await new Promise((r) => setTimeout(r, (PAUSE_S - 1) * 1000));
  await py(coord.url, `hq.resumeJobs([${frame}]); out(True)`);
  assert.deepEqual(Object.values(await waitFinished(coord.url, [frame])), ["succeeded"]);

  const job = await py<{ runTime: number; wall: number }>(
    coord.url,
    `
j = hq.getJob(${frame}, ["runTime", "startTime", "endTime"])
fmt = "%Y%m%dT%H:%M:%S"
import datetime
wall = (datetime.datetime.strptime(j["endTime"].value, fmt) - datetime.datetime.strptime(j["startTime"].value, fmt)).total_seconds()
out({"runTime": j["runTime"], "wall": wall})`,
  );
  assert.equal(typeof job.runTime, "number");
  assert.ok(job.runTime >= 3.5, `the frame's own work counts: ${JSON.stringify(job)}`);
  assert.ok(job.wall >= PAUSE_S, `startTime/endTime keep the wall clock: ${JSON.stringify(job)}`);
  assert.ok(job.runTime <= job.wall - PAUSE_S + 1.5, `the pause is left out: ${JSON.stringify(job)}`);

  const table = await (await fetch(`${coord.url}/jobs/${parent}/frames`)).text();
  const cell = /class="num duration"\s+data-seconds="([\d.]+)"/.exec(table);
  assert.ok(cell, table);
  assert.ok(
    Math.abs(Number(cell[1]) - job.runTime) < 0.1,
    `frame table ${cell[1]} s vs runTime ${job.runTime} s`,
  );

  const chart = await (await fetch(`${coord.url}/jobs/${parent}/render-times.svg`)).text();
  assert.match(chart, new RegExp(`median ${Math.round(job.runTime)} s`));
});
