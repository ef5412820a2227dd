// Control of running jobs over the link: pause/resume (pausing/resuming hold until the agent confirms),
// cancel, eject, for queued and running jobs; control reaches the agent through `{p}control:{clientId}`
// whichever coordinator served the call (two coordinators share one Redis here, the agent is on one).

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startCoordinator, type TestCoordinator } from "./support/coordinator.js";
import { ProtocolPeer } from "./support/protocol-peer.js";
import { py, waitFinished, waitJob } from "./support/farm-kit.js";

let home: TestCoordinator;
let other: TestCoordinator;
let node: ProtocolPeer;

before(async () => {
  home = await startCoordinator({ env: { OPENHQ_HEARTBEAT_INTERVAL: "200" } });
  other = await startCoordinator({ redisUrl: home.redisUrl, args: ["--prefix", home.prefix] });
  node = await new ProtocolPeer({ serverUrl: home.url, hostname: "ctl", cpus: 2, mode: "hold" }).connect();
});
after(async () => {
  node.close();
  await other.stop();
  await home.stop();
});

const submit = (url: string, spec: unknown) =>
  py<number[]>(url, `out(hq.newjob(${JSON.stringify(JSON.stringify(spec))}))`);

test("pause and resume a running job through the other coordinator", async () => {
  const [id] = (await submit(other.url, { name: "long", command: "sleep 100" })) as [number];
  await node.waitFor(() => node.running.has(id));
  await py(other.url, `hq.pauseJobs([${id}]); out(True)`);
  await node.waitFor(() => node.received.some((m) => m.type === "pause" && m.jobId === id));
  const paused = await waitJob(other.url, id, ["status"], `j["status"] == "paused"`);
  assert.equal(paused.status, "paused");
  await py(other.url, `hq.resumeJobs([${id}]); out(True)`);
  const resumed = await waitJob(other.url, id, ["status"], `j["status"] == "running"`);
  assert.equal(resumed.status, "running");
  assert.ok(node.received.some((m) => m.type === "resume" && m.jobId === id));
  node.finish(id);
  assert.deepEqual(Object.values(await waitFinished(other.url, [id])), ["succeeded"]);
});

test("a paused queued job is not dispatched until resumed", async () => {
  await py(home.url, `out(hq.setdisabled("ctl", True))`);
  const [id] = (await submit(home.url, { name: "later", command: "x" })) as [number];
  await py(home.url, `hq.pauseJobs([${id}]); out(True)`);
  await py(home.url, `out(hq.setdisabled("ctl", False))`);
  await new Promise((r) => setTimeout(r, 400));
  assert.ok(!node.running.has(id));
  await py(home.url, `hq.resumeJobs([${id}]); out(True)`);
  await node.waitFor(() => node.running.has(id));
  node.finish(id);
  await waitFinished(home.url, [id]);
});

test("cancel and eject reach the agent; a late finish of the old attempt changes nothing", async () => {
  const [a, b] = (await submit(other.url, [
    { name: "cancel me", command: "x" },
    { name: "eject me", command: "x" },
  ])) as [number, number];
  await node.waitFor(() => node.running.has(a) && node.running.has(b));
  await py(other.url, `hq.cancelJobs([${a}]); out(True)`);
  await node.waitFor(() => node.received.some((m) => m.type === "cancel" && m.jobId === a));
  assert.deepEqual(Object.values(await waitFinished(home.url, [a])), ["cancelled"]);
  const first = node.running.get(b)!.attempt;
  await py(other.url, `hq.ejectJobs([${b}]); out(True)`);
  await node.waitFor(() => node.received.some((m) => m.type === "eject" && m.jobId === b));
  // Ejected = back in the queue; this client is free again, so it gets the job as a new attempt.
  await node.waitFor(() => (node.running.get(b)?.attempt ?? 0) > first);
  node.finish(b);
  const done = await waitFinished(home.url, [b]);
  assert.deepEqual(Object.values(done), ["succeeded"]);
});
