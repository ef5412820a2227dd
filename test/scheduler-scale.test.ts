// Dispatch at studio scale, with protocol peers as agents: work nobody can run never stalls work somebody
// can (more blocked classes and jobs than the pass reads at once, with those page sizes lowered; then 50,000
// blocked jobs at the default sizes), and order holds across requirement classes.

import { test } from "node:test";
import assert from "node:assert/strict";
import { parseNewJob } from "../coordinator/api/jobspec.js";
import { JobStore } from "../coordinator/store/jobs.js";
import type { XmlRpcStruct } from "../shared/xmlrpc/types.js";
import { testLogs } from "./support/context.js";
import { useCoordinator, usePeers } from "./support/coordinator-fixture.js";
import type { ProtocolPeer } from "./support/protocol-peer.js";
import { py, waitFinished } from "./support/farm-kit.js";

let store: JobStore;
const farm = useCoordinator(
  {
    env: {
      OPENHQ_HEARTBEAT_INTERVAL: "200",
      // Far below what the test queues: a pass must go past its first reads to find runnable work.
      OPENHQ_DISPATCH_HEADS_PAGE: "4",
      OPENHQ_DISPATCH_CLASS_PAGE: "2",
    },
  },
  async ({ redis, keys, coordinator }) => {
    // The coordinator sweeps the farm's log folder; this store only submits.
    const logs = await testLogs(redis, keys, { dir: coordinator.jobLogsDir, sweep: false });
    store = new JobStore({ redis, keys, settings: { maxOutputBytes: 1 << 20 }, logs });
  },
);
const connect = usePeers(() => ({ serverUrl: farm.url }));

const add = (specs: XmlRpcStruct[]) => store.addJobs(parseNewJob(specs, null, null));

function peer(hostname: string, cpus: number, mode: "finish" | "hold"): Promise<ProtocolPeer> {
  return connect({ hostname, cpus, mode });
}

test("blocked classes and jobs beyond every page size never stop runnable work", async () => {
  // 60 classes nobody can run (one host each) and one class of 300 jobs for a missing group, all above.
  const blocked: XmlRpcStruct[] = [];
  for (let i = 0; i < 60; i++)
    for (let k = 0; k < 3; k++)
      blocked.push({ name: `pinned${i}`, command: "x", priority: 9, host: `gpu${i}` });
  for (let i = 0; i < 300; i++)
    blocked.push({
      name: "gpu",
      command: "x",
      priority: 9,
      conditions: [{ type: "client", name: "group", op: "==", value: "gpu" }],
    });
  await add(blocked);
  const worker = await peer("worker1", 4, "finish");
  const runnable = await add(
    Array.from({ length: 30 }, (_, i) => ({ name: `r${i}`, command: "true", priority: 1 })),
  );
  const done = await waitFinished(farm.url, runnable, 60);
  assert.deepEqual(new Set(Object.values(done)), new Set(["succeeded"]));
  // The blocked work is still queued, untouched.
  const waiting = await py<number>(farm.url, `out(hq.getNumWaitingJobs())`);
  assert.equal(waiting, 480);
  worker.close();
  await py(farm.url, `out(hq.setdisabled("worker1", True))`);
});

test("order across classes: each job to the best client that can run it, priority then FIFO", async () => {
  const node = await peer("orderhost", 1, "hold");
  await py(farm.url, `out(hq.setdisabled("orderhost", True))`);
  const one = async (spec: XmlRpcStruct) => (await add([spec]))[0] as number;
  const a = await one({ name: "a", command: "x", priority: 5 });
  const b = await one({
    name: "b",
    command: "x",
    priority: 5,
    conditions: [{ name: "os", op: "==", value: "linux" }],
  });
  const c = await one({ name: "c", command: "x", priority: 7, tags: ["single:lic"] });
  await one({ name: "gpu", command: "x", priority: 8, hostgroup: "gpu" });
  const d = await one({ name: "d", command: "x", priority: 5, tags: ["single"] });
  const e = await one({ name: "e", command: "x", priority: 7, host: "orderhost" });
  const f = await one({ name: "f", command: "x", priority: 0, maxHosts: 2 });
  const g = await one({ name: "g", command: "x", priority: 5 });
  await py(farm.url, `out(hq.setdisabled("orderhost", False))`);
  const order: number[] = [];
  for (let i = 0; i < 7; i++) {
    await node.waitFor(() => node.running.size === 1);
    const [jobId] = [...node.running.keys()] as [number];
    order.push(jobId);
    node.finish(jobId);
  }
  node.close();
  assert.deepEqual(order, [c, e, a, b, d, g, f]);
});

test("50,000 blocked higher-priority jobs: runnable work still flows", async () => {
  const gpu = { name: "gpu", command: "x", priority: 9, hostgroup: "gpu" };
  for (let i = 0; i < 5; i++) await add(Array.from({ length: 10_000 }, () => gpu));
  await peer("worker2", 4, "finish");
  const runnable = await add(
    Array.from({ length: 20 }, (_, i) => ({ name: `s${i}`, command: "true", priority: 1 })),
  );
  const done = await waitFinished(farm.url, runnable, 120);
  assert.deepEqual(new Set(Object.values(done)), new Set(["succeeded"]));
  assert.equal(await py<number>(farm.url, `out(hq.getNumWaitingJobs())`), 50_481); // and the gpu job of the order test
});

test("a job no registered client can run says why as soon as newjob returns; undefined ops are Faults", async () => {
  const reply = await py<{ gpu: Record<string, unknown>; plain: Record<string, unknown>; faults: string[] }>(
    farm.url,
    `
[gpu, plain] = hq.newjob([{"name": "gpu", "command": "x", "hostgroup": "nowhere"}, {"name": "plain", "command": "x"}])
attribs = ["waitingFor", "showBlockedClientsWarning"]
faults = []
for op in ["<", ">", "<=", ">="]:
    try:
        hq.newjob({"name": "cmp", "command": "x", "conditions": [{"type": "client", "name": "cpus", "op": op, "value": "4"}]})
    except xmlrpc.client.Fault as f:
        faults.append(f.faultString)
out({"gpu": hq.getJob(gpu, attribs), "plain": hq.getJob(plain, attribs), "faults": faults})`,
  );
  assert.equal(reply.gpu.waitingFor, "no blade is in group nowhere");
  assert.equal(reply.gpu.showBlockedClientsWarning, true);
  assert.equal(reply.plain.showBlockedClientsWarning, false);
  assert.equal(reply.faults.length, 4);
  for (const [i, op] of ["<", ">", "<=", ">="].entries())
    assert.ok(reply.faults[i]!.includes(`"${op}"`), reply.faults[i]);
});
