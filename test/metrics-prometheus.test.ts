// GET /metrics on a real coordinator, parsed with a strict Prometheus text-format parser; its farm gauges
// (clients by state, CPU slots, heartbeat lags) against what the clients API says of protocol peers in each state.

import { test } from "node:test";
import assert from "node:assert/strict";
import { HQServer } from "../shared/client/index.js";
import { startAgent } from "./support/agent.js";
import { startCoordinator } from "./support/coordinator.js";
import { parsePrometheus, sample } from "./support/prometheus.js";
import { agentlessFarm } from "./support/one-agent-farm.js";
import { ProtocolPeer } from "./support/protocol-peer.js";
import { clientState, type ClientStateInput } from "../shared/client-state.js";

test("the strict parser rejects what Prometheus rejects", () => {
  assert.throws(() => parsePrometheus("x 1\n"), /without a TYPE/);
  assert.throws(() => parsePrometheus("# TYPE x gauge\nx{a=b} 1\n"), /not quoted/);
  assert.throws(() => parsePrometheus("# TYPE x gauge\nx one\n"), /bad value/);
  assert.throws(() => parsePrometheus("# TYPE x gauge\nx 1"), /newline/);
  assert.throws(
    () =>
      parsePrometheus('# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'),
    /cumulative/,
  );
  const ok = parsePrometheus('# HELP x a gauge\n# TYPE x gauge\nx{a="q\\"uote"} 1.5e3\n');
  assert.equal(sample(ok, "x", { a: 'q"uote' }), 1500);
});

test("/metrics reports jobs by status, clients, Redis round trip and API calls by method", async (t) => {
  const { coordinator, hq } = await agentlessFarm(t);

  await hq.newjob([
    { name: "a", command: "true" },
    { name: "b", command: "true" },
    { name: "parent", children: [{ name: "child", command: "true" }] },
  ]);
  await hq.ping();
  await hq.getJobs([1, 2], ["status"]);
  await assert.rejects(hq.getJob(999_999));

  const res = await fetch(`${coordinator.url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const families = parsePrometheus(await res.text());

  for (const name of [
    "openhq_jobs",
    "openhq_jobs_dispatched_total",
    "openhq_queue_wait_seconds",
    "openhq_clients",
    "openhq_client_heartbeat_lag_seconds",
    "openhq_redis_roundtrip_seconds",
    "openhq_api_calls_total",
    "openhq_api_call_duration_seconds",
    "openhq_build_info",
    "openhq_jobs_finished_total",
    "openhq_job_run_seconds",
    "openhq_cpu_slots",
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "nodejs_eventloop_lag_seconds",
  ]) {
    assert.ok(families.has(name), `missing ${name}`);
  }
  assert.equal(families.get("openhq_api_call_duration_seconds")?.type, "histogram");
  assert.equal(families.get("openhq_jobs_dispatched_total")?.type, "counter");
  // Nothing runs the jobs (no agent): a, b and child wait for a machine, parent waits for its child.
  assert.equal(sample(families, "openhq_jobs", { status: "runnable" }), 3);
  assert.equal(sample(families, "openhq_jobs", { status: "queued" }), 1);
  assert.equal(sample(families, "openhq_clients", { state: "idle" }), 0);
  assert.equal(sample(families, "openhq_cpu_slots", { state: "total" }), 0);
  const rtt = sample(families, "openhq_redis_roundtrip_seconds") ?? -1;
  assert.ok(rtt > 0 && rtt < 5, `redis round trip ${rtt}`);

  assert.equal(sample(families, "openhq_api_calls_total", { method: "newjob", outcome: "ok" }), 1);
  assert.equal(sample(families, "openhq_api_calls_total", { method: "getJob", outcome: "fault" }), 1);
  // startCoordinator pings until the coordinator answers, then the test pings once more.
  assert.ok((sample(families, "openhq_api_call_duration_seconds_count", { method: "ping" }) ?? 0) >= 2);
});

test("/metrics counts this coordinator's own dispatches and finished runs; the other coordinator counts none", async (t) => {
  const coordinator = await startCoordinator();
  t.after(() => coordinator.stop());
  // A second coordinator on the same Redis and prefix, with no agent of its own.
  const other = await startCoordinator({
    redisUrl: coordinator.redisUrl,
    args: ["--prefix", coordinator.prefix],
  });
  t.after(() => other.stop());
  const agent = await startAgent({ serverUrl: coordinator.url, cpus: 2 });
  t.after(() => agent.stop());
  const hq = new HQServer(coordinator.url);
  t.after(() => hq.rpc.close());

  const ids = await hq.newjob([
    { name: "one", command: "true" },
    { name: "two", command: "true" },
    { name: "three", command: "exit 2", triesLeft: 0 },
  ]);
  for (;;) {
    const jobs = await hq.getJobs(ids, ["status"]);
    if (jobs.every((j) => j?.status === "succeeded" || j?.status === "failed")) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const families = parsePrometheus(await (await fetch(`${coordinator.url}/metrics`)).text());
  assert.equal(sample(families, "openhq_jobs_dispatched_total"), 3);
  assert.equal(sample(families, "openhq_queue_wait_seconds_count"), 3);
  assert.equal(sample(families, "openhq_jobs", { status: "succeeded" }), 2);
  assert.equal(sample(families, "openhq_jobs_finished_total", { outcome: "succeeded" }), 2);
  assert.equal(sample(families, "openhq_jobs_finished_total", { outcome: "failed" }), 1);
  assert.equal(sample(families, "openhq_job_run_seconds_count"), 3);
  assert.equal(sample(families, "openhq_cpu_slots", { state: "total" }), 2);
  const theirs = parsePrometheus(await (await fetch(`${other.url}/metrics`)).text());
  assert.equal(sample(theirs, "openhq_jobs_dispatched_total"), 0, "the other coordinator did no work");
  assert.equal(sample(theirs, "openhq_jobs_finished_total", { outcome: "succeeded" }), 0);
  assert.equal(sample(theirs, "openhq_jobs", { status: "succeeded" }), 2, "gauges are farm-wide");
  const clients = ["busy", "idle", "unavailable", "disabled", "not_responding", "quarantined"].map(
    (state) => sample(families, "openhq_clients", { state }) ?? 0,
  );
  assert.equal(
    clients.reduce((a, b) => a + b),
    1,
  );
  assert.equal(families.get("openhq_client_heartbeat_lag_seconds")?.samples.length, 1);
});

test("/metrics' clients by state, CPU slots and heartbeat lags are what the clients API says of each client", async (t) => {
  const { coordinator, hq } = await agentlessFarm(t);
  const peers: ProtocolPeer[] = [];
  t.after(() => peers.forEach((p) => p.close()));
  const peer = async (hostname: string, cpus: number, available = true) => {
    const p = await new ProtocolPeer({
      serverUrl: coordinator.url,
      hostname,
      cpus,
      available,
      mode: "hold",
    }).connect();
    peers.push(p);
    return p;
  };
  // Busy (a 3-CPU job and a 1-CPU one on 4; a 2-CPU job on 2), idle,
  // unavailable, disabled, and not responding (its link gone).
  const busy = await peer("m-busy", 4);
  const full = await peer("m-full", 2);
  await peer("m-idle", 8);
  await peer("m-unavailable", 16, false);
  await peer("m-disabled", 32);
  const gone = await peer("m-gone", 64);
  assert.equal(await hq.call("setdisabled", "m-disabled", true), true);
  gone.close();
  await hq.newjob([
    { name: "three", command: "x", cpus: 3, host: "m-busy" },
    { name: "one", command: "x", host: "m-busy" },
  ]);
  await busy.waitFor(() => busy.running.size === 2);
  await hq.newjob({ name: "two", command: "x", cpus: 2, host: "m-full" });
  await full.waitFor(() => full.running.size === 1);

  const attrs = [
    "label",
    "cpus",
    "lastHeartbeat",
    "responding",
    "disabled",
    "quarantined",
    "available",
    "runningJobs",
  ];
  const expected = async () => {
    const clients = (await hq.getClients(null, attrs)) as Record<string, unknown>[];
    const byState: Record<string, number> = {};
    let total = 0;
    let held = 0;
    for (const c of clients) {
      const state = clientState(c as ClientStateInput);
      byState[state] = (byState[state] ?? 0) + 1;
      if (state !== "busy" && state !== "idle") continue;
      total += Number(c["cpus"]);
      let jobs = 0;
      for (const id of c["runningJobs"] as number[])
        jobs += Math.max(1, Number((await hq.getJob(id, ["cpus"])).cpus ?? 1));
      held += Math.min(Number(c["cpus"]), jobs);
    }
    const beats = clients.filter((c) => c["lastHeartbeat"] instanceof Date).map((c) => String(c["label"]));
    return { byState, total, held, beats };
  };
  const reported = async () => {
    const families = parsePrometheus(await (await fetch(`${coordinator.url}/metrics`)).text());
    const byState: Record<string, number> = {};
    for (const s of families.get("openhq_clients")?.samples ?? [])
      if (s.value > 0) byState[s.labels["state"] as string] = s.value;
    return {
      byState,
      total: sample(families, "openhq_cpu_slots", { state: "total" }),
      held: sample(families, "openhq_cpu_slots", { state: "busy" }),
      beats: (families.get("openhq_client_heartbeat_lag_seconds")?.samples ?? []).map(
        (s) => s.labels["client"],
      ),
    };
  };
  // Once the gone blade's link is seen down and a heartbeat says the unavailable one is, the states settle.
  let want = await expected();
  for (
    let i = 0;
    i < 100 &&
    !(
      want.byState["busy"] === 2 &&
      want.byState["not_responding"] === 1 &&
      want.byState["unavailable"] === 1
    );
    i++
  ) {
    await new Promise((r) => setTimeout(r, 100));
    want = await expected();
  }
  assert.deepEqual(want.byState, { busy: 2, idle: 1, unavailable: 1, disabled: 1, not_responding: 1 });
  assert.deepEqual([want.total, want.held], [4 + 2 + 8, 4 + 2]);
  assert.deepEqual(await reported(), want);
});
