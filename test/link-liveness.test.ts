// Liveness: a client silent for activeTimeout loses its jobs as lost (requeued without spending a try,
// abandoned at openhq.maxLostAttempts, 2 here); a reconnecting agent is told to stop attempts that moved on; an
// assignment that never reached its agent goes back to the queue; a hostile heartbeat.assigns closes the link
// and requeues nothing. activeTimeout is 0.05 minutes (3 s) here.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startCoordinator, type TestCoordinator } from "./support/coordinator.js";
import { ProtocolPeer } from "./support/protocol-peer.js";
import { iniArgs, py, waitFinished, waitJob } from "./support/farm-kit.js";

let coord: TestCoordinator;
const peers: ProtocolPeer[] = [];

before(async () => {
  coord = await startCoordinator({
    env: { OPENHQ_HEARTBEAT_INTERVAL: "200" },
    args: iniArgs("[main]\nhqserver.activeTimeout = 0.05\nopenhq.maxLostAttempts = 2\n"),
  });
});
after(async () => {
  for (const p of peers) p.close();
  await coord.stop();
});

async function peer(hostname: string, extra: Partial<ConstructorParameters<typeof ProtocolPeer>[0]> = {}) {
  const p = await new ProtocolPeer({ serverUrl: coord.url, hostname, mode: "hold", ...extra }).connect();
  peers.push(p);
  return p;
}

const submit = (spec: unknown) =>
  py<number[]>(coord.url, `out(hq.newjob(${JSON.stringify(JSON.stringify(spec))}))`);

test("a silent agent's job is retried elsewhere; when it comes back it is told to stop the old attempt", async () => {
  const first = await peer("crash1");
  const [id] = (await submit({ name: "retry me", command: "x", triesLeft: 1 })) as [number];
  await first.waitFor(() => first.running.has(id));
  first.close(); // no goodbye, no heartbeats: as if the machine died
  const requeued = await waitJob(
    coord.url,
    id,
    ["status", "triesLeft", "logs"],
    `any("blade lost" in l[0] for l in j["logs"])`,
  );
  assert.equal(requeued.triesLeft, 1, "a lost machine spends no try");
  assert.ok(
    (requeued.logs as [string][]).some((l) =>
      /^blade lost: crash1, (not responding|agent process gone)/.test(l[0]),
    ),
    JSON.stringify(requeued.logs),
  );
  const second = await peer("crash2");
  await second.waitFor(() => second.running.has(id));
  assert.equal(second.running.get(id)!.attempt, 2);
  const back = await peer("crash1", { running: [{ jobId: id, attempt: 1, pid: 4242 }] });
  assert.deepEqual(back.welcome!.stop, [{ jobId: id, attempt: 1 }]);
  // A late report from attempt 1 changes nothing.
  back.running.set(id, { ...second.running.get(id)!, attempt: 1 });
  back.finish(id, 1);
  await new Promise((r) => setTimeout(r, 300));
  const still = await py<{ status: string }>(coord.url, `out(hq.getJob(${id}, ["status"]))`);
  assert.equal(still.status, "running");
  second.finish(id);
  assert.deepEqual(Object.values(await waitFinished(coord.url, [id])), ["succeeded"]);
  back.close();
  second.close();
});

test("with no tries left a silent agent's job is requeued, and abandoned at maxLostAttempts", async () => {
  const node = await peer("crash3");
  const [id] = (await submit({ name: "abandon me", command: "x", host: "crash3" })) as [number];
  await node.waitFor(() => node.running.has(id));
  node.close();
  await waitJob(coord.url, id, ["logs"], `any("blade lost" in l[0] for l in j["logs"])`);
  const again = await peer("crash3");
  await again.waitFor(() => again.running.get(id)?.attempt === 2, 30_000);
  again.close();
  const done = await waitFinished(coord.url, [id], 30);
  assert.deepEqual(Object.values(done), ["abandoned"]);
});

test("an assignment the agent never got goes back to the queue without using a try", async () => {
  const node = await peer("forgetful");
  const [id] = (await submit({ name: "lost", command: "x", host: "forgetful" })) as [number];
  await node.waitFor(() => node.running.has(id));
  node.running.delete(id); // the agent forgets it: its heartbeats no longer list the job
  await node.waitFor(() => node.running.has(id), 20_000);
  assert.equal(node.running.get(id)!.attempt, 2);
  node.finish(id);
  const job = await waitJob(coord.url, id, ["status", "logs", "triesLeft"], `j["status"] == "succeeded"`);
  assert.equal(job.status, "succeeded");
  assert.ok((job.logs as [string][]).some((l) => /was lost: requeued/.test(l[0])));
});

test("heartbeats written before the agent heard of an assignment do not requeue it, however late they are read", async () => {
  // A coordinator seconds behind on a loaded farm reads heartbeats the agent wrote before the `assign`
  // reached it: by time alone the job looked lost, was requeued and ran twice (faults-farm, load 25).
  const node = await peer("laggard");
  node.deaf = true;
  const [id] = (await submit({ name: "in flight", command: "x", host: "laggard" })) as [number];
  await node.waitFor(() => node.received.some((m) => m.type === "assign" && m.jobId === id));
  // Ten heartbeat intervals (five times the "two intervals" of the time rule) of heartbeats that list nothing.
  await new Promise((r) => setTimeout(r, 2000));
  const held = await py<{ attempt: number; logs: [string][] }>(
    coord.url,
    `out(hq.getJob(${id}, ["attempt", "logs"]))`,
  );
  assert.equal(held.attempt, 1);
  assert.ok(!held.logs.some((l) => /requeued/.test(l[0])), JSON.stringify(held.logs));
  // Once its heartbeats say it heard the assign and still do not list the job, it never reached a run.
  node.deaf = false;
  node.assignsHeard++;
  await node.waitFor(() => node.running.get(id)?.attempt === 2, 20_000);
  node.finish(id);
  assert.equal((await waitFinished(coord.url, [id], 30))[id], "succeeded");
});

test("a hostile heartbeat.assigns closes the link as any bad heartbeat field does; the job the agent runs stays", async () => {
  let node = await peer("hostile");
  const [id] = (await submit({ name: "kept", command: "x", host: "hostile" })) as [number];
  await node.waitFor(() => node.running.has(id));
  const assign = node.running.get(id)!;
  const beat = { type: "heartbeat", load: 0.5, idleTime: -1, freeMemory: 1024, available: true } as const;
  const running = [{ jobId: id, attempt: assign.attempt, pid: 1 }];
  // Negative, fractional, a string, null (what JSON makes of NaN), past 2^53, 1e308: each refused.
  for (const assigns of [-1, 1.5, "3", null, 2 ** 53, 1e308]) {
    node.send({ ...beat, running, assigns } as unknown as Parameters<ProtocolPeer["send"]>[0]);
    await node.waitFor(() => node.closeCode !== null);
    assert.equal(node.closeCode, 4000, `assigns ${JSON.stringify(assigns)}`);
    // The agent links again, still running the job (as a real agent would after a closed link).
    node = await peer("hostile", { running });
    node.running.set(id, assign);
    assert.deepEqual(node.welcome!.stop, [], `assigns ${JSON.stringify(assigns)}`);
  }
  // Each close is in the server errors, so an admin can tell why the agent keeps linking.
  const { errors } = await py<{ errors: { message: string }[] }>(coord.url, `out(hq.getServerErrors())`);
  assert.ok(
    errors.some((e) => /agent link hostile: closed, a heartbeat with a field out of range/.test(e.message)),
    JSON.stringify(errors),
  );
  // The largest safe integer is a count like any other: the link stays, the job listed stays.
  node.send({ ...beat, running, assigns: Number.MAX_SAFE_INTEGER });
  // Ten heartbeat intervals, past the "two intervals" of the lost-assignment rule and activeTimeout's half.
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal(node.closeCode, null);
  const held = await py<{ attempt: number; status: string; logs: [string][] }>(
    coord.url,
    `out(hq.getJob(${id}, ["attempt", "status", "logs"]))`,
  );
  assert.deepEqual([held.status, held.attempt], ["running", 1]);
  assert.ok(!held.logs.some((l) => /requeued|lost/.test(l[0])), JSON.stringify(held.logs));
  // Its end goes on from the first link's `started` (seq 1), as the agent's journal would number it.
  node.send({ type: "finished", jobId: id, attempt: 1, seq: 2, exitCode: 0, signal: null, reason: "exited" });
  assert.equal((await waitFinished(coord.url, [id], 30))[id], "succeeded");
});

test("goodbye: a terminated client leaves the list once its jobs finish, and gets no new work", async () => {
  const node = await peer("leaving");
  const [id] = (await submit({ name: "last job", command: "x", host: "leaving" })) as [number];
  await node.waitFor(() => node.running.has(id));
  node.send({ type: "goodbye" });
  const [next] = (await submit({ name: "not for it", command: "x", host: "leaving" })) as [number];
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(!node.running.has(next));
  const listed = await py<string[]>(coord.url, `out([c["label"] for c in hq.getClients(None, ["label"])])`);
  assert.ok(listed.includes("leaving"));
  node.finish(id);
  await waitFinished(coord.url, [id]);
  const later = await py<string[]>(
    coord.url,
    `
import time
time.sleep(0.3)
out([c["label"] for c in hq.getClients(None, ["label"])])`,
  );
  assert.ok(!later.includes("leaving"), JSON.stringify(later));
  await py(coord.url, `hq.cancelJobs([${next}]); out(True)`);
});
