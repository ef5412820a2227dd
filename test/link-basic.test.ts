// The agent link against a real coordinator, with a protocol peer (test/support/protocol-peer.ts) as the
// agent and Python's xmlrpc.client as the HQueue client: registration and stable ids, the token,
// dispatch of a submitted job, output and progress, getClients attributes, job history.

import { test } from "node:test";
import assert from "node:assert/strict";
import { useCoordinator, usePeers } from "./support/coordinator-fixture.js";

const farm = useCoordinator({ env: { OPENHQ_FARM_SECRET: "s3cret", OPENHQ_HEARTBEAT_INTERVAL: "200" } });
const peer = usePeers(() => ({ serverUrl: farm.url, token: "s3cret" }));
const py = <T>(code: string): Promise<T> => farm.py<T>(code);

test("an agent without the token, or with a wrong one, is refused and the refusal is logged", async () => {
  const none = await peer({ token: null, hostname: "intruder" });
  assert.equal(none.welcome, null);
  assert.match(none.refused ?? "", /token required/);
  const wrong = await peer({ token: "nope", hostname: "intruder2" });
  assert.match(wrong.refused ?? "", /wrong agent token/);
  const errors = await py<{ total: number; errors: { message: string }[] }>(`out(hq.getServerErrors())`);
  assert.ok(
    errors.errors.some((e) => /refused agent intruder/.test(e.message)),
    JSON.stringify(errors),
  );
  const clients = await py<unknown[]>(`out(hq.getClients())`);
  assert.equal(clients.length, 0);
});

test("one client record per hostname:name, with the same id after a reconnect", async () => {
  const a = await peer({ hostname: "blade1", cpus: 4 });
  const b = await peer({ hostname: "blade1", name: "gpu", cpus: 2 });
  assert.notEqual(a.clientId, b.clientId);
  const firstId = a.clientId;
  a.close();
  const again = await peer({ hostname: "blade1", cpus: 4 });
  assert.equal(again.clientId, firstId);
  await again.waitFor(() => again.received.length > 0);
  const got = await py<Record<string, unknown>>(`
c = hq.getClientByName("blade1:gpu")
d = hq.getClientByName("blade1")
out({"c": c, "d": d["id"], "byHost": [x["label"] for x in hq.getClientsByHostname(["blade1"])],
     "some": hq.getClient(${b.clientId}, ["label", "cpus", "runningJobs"]),
     "missing": hq.getClientByName("nosuchhost")})
`);
  const c = got.c as Record<string, unknown>;
  assert.equal(c.label, "blade1:gpu");
  assert.equal(c.name, "gpu");
  assert.equal(c.hostname, "blade1");
  assert.equal(c.cpus, 2);
  assert.equal(c.platform, "linux-x86_64");
  assert.equal(c.disabled, false);
  assert.equal(c.available, true);
  assert.equal(c.idleTime, -1);
  assert.equal(c.memory, 1024 * 1024);
  assert.deepEqual(c.runningJobs, []);
  assert.ok(c.lastHeartbeat, "lastHeartbeat is a dateTime");
  assert.equal(got.d, firstId);
  assert.deepEqual(got.byHost, ["blade1"]);
  assert.deepEqual(got.some, { label: "blade1:gpu", cpus: 2, runningJobs: [] });
  assert.equal(got.missing, null);
  again.close();
  b.close();
});

test("a submitted job reaches the agent at once, output and progress are stored, the job succeeds", async () => {
  const agent = await peer({ hostname: "worker", mode: "hold" });
  const [jobId] = await py<number[]>(
    `out(hq.newjob({"name": "render", "command": "echo hi", "environment": {"A": "1"}, "maxTime": 30}))`,
  );
  await agent.waitFor(() => agent.running.has(jobId as number));
  const assign = agent.running.get(jobId as number);
  assert.ok(assign);
  assert.equal(assign.command, "echo hi");
  assert.equal(assign.attempt, 1);
  assert.equal(assign.master, true);
  assert.deepEqual(assign.hosts, ["worker"]);
  assert.deepEqual(assign.environment, { A: "1" });
  assert.equal(assign.maxTime, 30);
  agent.output(jobId as number, "hello ");
  agent.progress(jobId as number, 0.5);
  agent.output(jobId as number, "world\n");
  agent.finish(jobId as number);
  const seen = await py<Record<string, unknown>>(`
import time
for _ in range(200):
    j = hq.getJob(${jobId}, ["status", "progress", "clients", "logs"])
    if j["status"] in ("succeeded", "failed", "cancelled", "abandoned"):
        break
    time.sleep(0.05)
out({"job": j, "errors": hq.getServerErrors(), "output": hq.getJobOutput(${jobId}), "history": hq.getJobHistory(${agent.clientId}),
     "assigned": hq.getJobIdsAssignedToClient(${agent.clientId})})
`);
  const job = seen.job as Record<string, unknown>;
  assert.equal(job.status, "succeeded", JSON.stringify(seen));
  assert.equal(seen.output, "hello world\n");
  assert.deepEqual(job.clients, [{ hostname: "worker", clientId: agent.clientId, master: true }]);
  const logs = (job.logs as [string, unknown][]).map((l) => l[0]);
  assert.ok(logs.includes("Assigned to worker (master)"), JSON.stringify(logs));
  assert.deepEqual(seen.history, [jobId]);
  assert.deepEqual(seen.assigned, []);
  const acks = agent.received.filter((m) => m.type === "ack" && m.jobId === jobId);
  assert.ok(acks.length >= 4, "every event is acknowledged");
  agent.close();
});

test("a burst of output chunks and a resend of some of them are stored once, in order; acks only grow", async () => {
  const agent = await peer({ hostname: "chatty", mode: "hold" });
  const [jobId] = await py<number[]>(`out(hq.newjob({"name": "burst", "command": "yes"}))`);
  const id = jobId as number;
  await agent.waitFor(() => agent.running.has(id));
  const attempt = agent.running.get(id)?.attempt as number;
  const lines = Array.from({ length: 300 }, (_, i) => `line ${i}\n`);
  for (const line of lines) agent.output(id, line); // seqs 2..301 (`started` was 1)
  // As after a reconnect that lost some acks: the newest 100 chunks again, with their seqs.
  for (let i = 200; i < 300; i++) {
    agent.send({ type: "output", jobId: id, attempt, seq: i + 2, data: lines[i] as string });
  }
  agent.output(id, "end\n");
  agent.finish(id);
  const lastSeq = 303;
  const acked = (): number[] =>
    agent.received.flatMap((m) => (m.type === "ack" && m.jobId === id ? [m.seq] : []));
  await agent.waitFor(() => acked().includes(lastSeq));
  const seqs = acked();
  assert.deepEqual(
    seqs,
    [...seqs].sort((a, b) => a - b),
    "acks never go back",
  );
  const output = await py<string>(`out(hq.getJobOutput(${id}))`);
  assert.equal(output, lines.join("") + "end\n");
  agent.close();
});

test("upgradeClients and setAvailabilityRules reach the agent and show in the client attributes", async () => {
  const agent = await peer({ hostname: "upgradable" });
  const got = await py<Record<string, unknown>>(`
hq.upgradeClients([${agent.clientId}])
hq.setAvailabilityRules("upgradable", [{"type": "window", "days": [1, 2], "start": "22:00", "end": "06:00"}, {"type": "idle", "minutes": 15}])
out(hq.getClient(${agent.clientId}, ["needsUpgrade", "availabilityRules"]))`);
  assert.equal(got.needsUpgrade, true);
  assert.deepEqual(got.availabilityRules, [
    { type: "window", days: [1, 2], start: "22:00", end: "06:00" },
    { type: "idle", minutes: 15 },
  ]);
  await agent.waitFor(() => agent.received.some((m) => m.type === "upgrade"));
  await agent.waitFor(() => agent.received.some((m) => m.type === "availability" && m.rules.length === 2));
  const bad = await py<Record<string, unknown>>(
    `out(fault(hq.setAvailabilityRules, "upgradable", [{"type": "window", "start": "25:00", "end": "06:00"}]))`,
  );
  assert.match(String(bad.faultString), /HH:MM/);
  agent.close();
});
