// Paused time is not run time (issue 18, item 6), on a real coordinator, a real agent and Python's
// xmlrpc.client: a frame paused for several seconds on its agent reports a `runTime` without the pause, in the
// API, the frame table's Duration, the render-time chart and the run-time histogram of /metrics, while startTime/endTime keep HQueue's meaning
// (the wall clock, pause included).

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { useOneAgentFarm } from "./support/one-agent-farm.js";
import { py, waitFinished, waitJob } from "./support/farm-kit.js";

const farm = useOneAgentFarm({ env: { OPENHQ_HEARTBEAT_INTERVAL: "500" } }, 2);
const dir = mkdtempSync(join(tmpdir(), "openhq-paused-"));

after(() => rmSync(dir, { recursive: true, force: true }));

/** Seconds the frame stays paused (the check says 10 s; 6 s keeps the test short and still tells). */
const PAUSE_S = 6;

test("a frame paused for a while reports a run time without the pause: API, frame table and chart", async () => {
  // Ticks until the test says stop, so it cannot end before the pause however slow the machine is.
  const stop = join(dir, "stop");
  const [parent] = (await py<number[]>(
    farm.url,
    `out(hq.newjob({"name": "shot", "children": [{"name": "frame 1", "shell": "bash",
      "command": "while [ ! -e ${stop} ]; do echo tick; sleep 0.1; done"}]}))`,
  )) as [number];
  const [frame] = (await py<number[]>(farm.url, `out(hq.getJob(${parent}, ["children"])["children"])`)) as [
    number,
  ];
  await waitJob(farm.url, frame, ["status"], `j["status"] == "running"`, 120);
  await py(farm.url, `hq.pauseJobs([${frame}]); out(True)`);
  const state = await waitJob(farm.url, frame, ["status"], `j["status"] != "pausing"`);
  assert.equal(state.status, "paused");
  const paused = await py<{ a: number; b: number }>(
    farm.url,
    `
import time
a = hq.getJob(${frame}, ["runTime"])["runTime"]
time.sleep(1)
out({"a": a, "b": hq.getJob(${frame}, ["runTime"])["runTime"]})`,
  );
  assert.equal(paused.a, paused.b, "runTime stands still while the frame is paused");
  await new Promise((r) => setTimeout(r, (PAUSE_S - 1) * 1000));
  await py(farm.url, `hq.resumeJobs([${frame}]); out(True)`);
  await waitJob(farm.url, frame, ["status"], `j["status"] == "running"`, 120);
  await new Promise((r) => setTimeout(r, 1000));
  writeFileSync(stop, "");
  assert.deepEqual(Object.values(await waitFinished(farm.url, [frame])), ["succeeded"]);

  const job = await py<{ runTime: number; wall: number }>(
    farm.url,
    `
j = hq.getJob(${frame}, ["runTime", "startTime", "endTime"])
fmt = "%Y%m%dT%H:%M:%S"
import datetime
wall = (datetime.datetime.strptime(j["endTime"].value, fmt) - datetime.datetime.strptime(j["startTime"].value, fmt)).total_seconds()
out({"runTime": j["runTime"], "wall": wall})`,
  );
  assert.equal(typeof job.runTime, "number");
  assert.ok(job.runTime >= 1, `the frame's own work counts: ${JSON.stringify(job)}`);
  assert.ok(job.wall >= PAUSE_S, `startTime/endTime keep the wall clock: ${JSON.stringify(job)}`);
  assert.ok(job.runTime <= job.wall - PAUSE_S + 1.5, `the pause is left out: ${JSON.stringify(job)}`);

  const table = await (await fetch(`${farm.url}/jobs/${parent}/frames`)).text();
  const cell = /class="num duration"\s+data-seconds="([\d.]+)"/.exec(table);
  assert.ok(cell, table);
  assert.ok(
    Math.abs(Number(cell[1]) - job.runTime) < 0.1,
    `frame table ${cell[1]} s vs runTime ${job.runTime} s`,
  );

  const chart = await (await fetch(`${farm.url}/jobs/${parent}/render-times.svg`)).text();
  assert.match(chart, new RegExp(`median ${Math.round(job.runTime)} s`));

  // The run-time histogram: this coordinator ran only this frame (the parent has no command).
  const metrics = await (await fetch(`${farm.url}/metrics`)).text();
  const count = /^openhq_job_run_seconds_count (\d+)$/m.exec(metrics);
  const sum = /^openhq_job_run_seconds_sum ([\d.e+-]+)$/m.exec(metrics);
  assert.ok(count && sum, metrics);
  assert.equal(Number(count[1]), 1);
  assert.ok(
    Math.abs(Number(sum[1]) - job.runTime) < 1.5,
    `histogram ${sum[1]} s vs runTime ${job.runTime} s`,
  );
});
