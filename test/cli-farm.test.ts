// `openhq` against a running farm (real coordinator + real agent): submit --wait exit codes, --json output,
// tail, job actions, and the exit codes scripts rely on.

import { test } from "node:test";
import assert from "node:assert/strict";
import { TEST_FARM_SECRET } from "./support/farm-secret.js";
import { openhq, specFile, type Run } from "./support/cli.js";
import { startCoordinator } from "./support/coordinator.js";
import { freePort } from "./support/ports.js";
import { oneAgentFarm } from "./support/one-agent-farm.js";

test("openhq against a farm: submit --wait exit codes, --json, tail, cancel", async (t) => {
  const { coordinator, agent } = await oneAgentFarm(t, 4);
  const url = coordinator.url;

  const ok = await openhq(url, [
    "submit",
    "--wait",
    "--name",
    "ok",
    "--",
    "sh",
    "-c",
    "echo hello from the farm",
  ]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /job \d+ succeeded/);

  const bad = await openhq(url, ["submit", "--wait", "--json", "--", "sh", "-c", "exit 3"]);
  assert.equal(bad.code, 1, bad.stderr);
  const report = JSON.parse(bad.stdout) as { roots: number[]; jobs: { status: string }[]; exitCode: number };
  assert.equal(report.jobs[0]?.status, "failed");
  assert.equal(report.exitCode, 1);

  // A spec file with children; --json gives every created id, roots first.
  const spec = specFile(t, {
    name: "parent",
    children: [
      { name: "c1", command: "echo one" },
      { name: "c2", command: "echo two" },
    ],
  });
  const tree = await openhq(url, ["submit", spec, "--wait", "--json"]);
  assert.equal(tree.code, 0, tree.stderr);
  const treeReport = JSON.parse(tree.stdout) as { ids: number[]; roots: number[] };
  assert.equal(treeReport.ids.length, 3);
  assert.equal(treeReport.roots.length, 1);

  const okId = Number(/job (\d+) succeeded/.exec(ok.stdout)?.[1]);
  const output = await openhq(url, ["tail", String(okId)]);
  assert.equal(output.code, 0);
  assert.equal(output.stdout, "hello from the farm\n");

  const shown = await openhq(url, ["job", String(okId), "--json"]);
  const job = JSON.parse(shown.stdout) as { id: number; status: string; queueTime: string };
  assert.equal(job.id, okId);
  assert.equal(job.status, "succeeded");
  assert.match(job.queueTime, /^\d{4}-\d\d-\d\dT/);

  const listed = JSON.parse((await openhq(url, ["jobs", "--all", "--json"])).stdout) as { id: number }[];
  assert.ok(listed.some((j) => j.id === okId));
  const clients = JSON.parse((await openhq(url, ["clients", "--json"])).stdout) as { cpus: number }[];
  assert.equal(clients.length, 1);
  const wakeup = await openhq(url, ["wakeup", `127.0.0.1:${agent.port}`]);
  assert.equal(wakeup.code, 0, wakeup.stderr);

  // submit --wait of a long job; cancelling it from another openhq ends the wait with exit code 6, and
  // tail -f follows the output live until then.
  let waitedId = 0;
  const waiting = openhq(
    url,
    ["submit", "--wait", "--", "sh", "-c", "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done"],
    (text) => {
      waitedId = Number(/submitted job (\d+)/.exec(text)?.[1] ?? 0);
    },
  );
  while (waitedId === 0) await new Promise((r) => setTimeout(r, 50));
  let cancelled: Promise<Run> | null = null;
  const tail = await openhq(url, ["tail", "-f", String(waitedId)], (text) => {
    if (cancelled === null && /tick 3\n/.test(text)) cancelled = openhq(url, ["cancel", String(waitedId)]);
  });
  assert.equal(tail.code, 6, tail.stderr); // tail -f ends with the job's result, like submit --wait
  assert.match(tail.stdout, /^tick 1\ntick 2\ntick 3\n/);
  assert.match(tail.stderr, /cancelled/);
  assert.equal((await (cancelled as unknown as Promise<Run>)).code, 0);
  assert.equal((await waiting).code, 6);

  // terminate: the agent leaves the farm and exits cleanly.
  const terminate = await openhq(url, [
    "--agent-token",
    TEST_FARM_SECRET,
    "terminate",
    `127.0.0.1:${agent.port}`,
  ]);
  assert.equal(terminate.code, 0, terminate.stderr);
  assert.equal(await agent.exited, 0);
});

test("openhq exit codes without a farm: usage 2, unreachable 3, fault 4", async (t) => {
  const coordinator = await startCoordinator();
  t.after(() => coordinator.stop());
  assert.equal((await openhq(coordinator.url, ["frobnicate"])).code, 2);
  assert.equal((await openhq(coordinator.url, ["cancel", "abc"])).code, 2);
  assert.equal((await openhq(coordinator.url, ["submit", "/nonexistent.json"])).code, 2);
  const dead = `http://127.0.0.1:${await freePort()}`;
  const unreachable = await openhq(dead, ["jobs"]);
  assert.equal(unreachable.code, 3);
  assert.match(unreachable.stderr, /cannot reach/);
  const fault = await openhq(coordinator.url, ["job", "424242"]);
  assert.equal(fault.code, 4);
  assert.match(fault.stderr, /fault/);
  const json = await openhq(coordinator.url, ["ping", "--json"]);
  assert.equal(json.stdout, "true\n");
});
