// GPUs on a real farm (issue 24 item 3): a real coordinator, real agents, Python's xmlrpc.client. These
// machines have no GPU, so one agent finds a fake `nvidia-smi` first on its PATH (four cards, the last with
// less memory); another has none and reports what systeminformation really finds here. Protocol peers play
// agents that claim malformed GPU lists.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { useCoordinator, usePeers } from "./support/coordinator-fixture.js";
import { startAgent, type TestAgent } from "./support/agent.js";
import { eventually } from "./support/eventually.js";

const fakeBin = mkdtempSync(join(tmpdir(), "openhq-fake-gpus-"));
let gpuBlade: TestAgent;
let plainBlade: TestAgent;

// The blades start in the fixture's seed: top-level hooks of one file do not wait for each other.
const farm = useCoordinator({ env: { OPENHQ_HEARTBEAT_INTERVAL: "300" } }, async (f) => {
  // nvidia-smi's answer to the agent's query (index, memory.total, memory.free, name; MB, no units).
  writeFileSync(
    join(fakeBin, "nvidia-smi"),
    [
      "#!/bin/sh",
      'case "$*" in *--query-gpu=index,memory.total,memory.free,name*) ;; *) exit 9 ;; esac',
      'echo "0, 24576, 24000, NVIDIA RTX A5000"',
      'echo "1, 24576, 23000, NVIDIA RTX A5000"',
      'echo "2, 24576, 24576, NVIDIA RTX A5000"',
      'echo "3, 8192, [N/A], NVIDIA T1000 8GB"',
      "",
    ].join("\n"),
  );
  chmodSync(join(fakeBin, "nvidia-smi"), 0o755);
  [gpuBlade, plainBlade] = await Promise.all([
    startAgent({
      serverUrl: f.url,
      name: "gpu4",
      cpus: 8,
      env: { PATH: `${fakeBin}:${process.env.PATH ?? ""}` },
    }),
    startAgent({ serverUrl: f.url, name: "plain", cpus: 2 }),
  ]);
  await eventually("both blades registered", () =>
    f.py<number>(`out(len([c for c in hq.getClients() if c["connected"]]))`).then((n) => n >= 2),
  );
});
const peer = usePeers(() => ({ serverUrl: farm.url, mode: "hold" }));
const py = <T>(code: string): Promise<T> => farm.py<T>(code);
after(async () => {
  await Promise.all([gpuBlade?.stop(), plainBlade?.stop()]);
  rmSync(fakeBin, { recursive: true, force: true });
});

const host = hostname();

test("the agent reports nvidia-smi's GPUs: getClients has gpus, indices, models, memory and free memory", async () => {
  const [c] = await py<Record<string, unknown>[]>(
    `out([{k: c[k] for k in ("gpus", "gpuIndices", "gpuModels", "gpuMemory", "gpuFreeMemory", "cpus")} for c in hq.getClients() if c["label"] == "${host}:gpu4"])`,
  );
  assert.deepEqual(c, {
    gpus: 4,
    gpuIndices: [0, 1, 2, 3],
    gpuModels: ["NVIDIA RTX A5000", "NVIDIA RTX A5000", "NVIDIA RTX A5000", "NVIDIA T1000 8GB"],
    gpuMemory: [24576, 24576, 24576, 8192],
    gpuFreeMemory: [24000, 23000, 24576, -1],
    cpus: 8,
  });
});

test("without nvidia-smi the agent reports what systeminformation finds here, and runs", async () => {
  const [c] = await py<Record<string, unknown>[]>(
    `out([{k: c[k] for k in ("gpus", "gpuModels", "connected")} for c in hq.getClients() if c["label"] == "${host}:plain"])`,
  );
  // These machines have no GPU (systeminformation lists no adapter, or only virtual ones, never counted).
  assert.deepEqual(c, { gpus: 0, gpuModels: [], connected: true });
  await eventually("the agent logged its probe", async () =>
    /GPUs \(systeminformation\): none/.test(plainBlade.output() + readLog(plainBlade)),
  );
});

test("a hello with a malformed GPU list is refused, naming the field; nothing is registered", async () => {
  const cases: [unknown, RegExp][] = [
    [{ index: 0 }, /gpus must be a list/],
    [
      Array.from({ length: 65 }, (_, i) => ({ index: i, model: "x", memory: 1, freeMemory: null })),
      /at most 64/,
    ],
    [[{ index: -1, model: "x", memory: 1, freeMemory: null }], /gpu index must be an integer/],
    [[{ index: 1.5, model: "x", memory: 1, freeMemory: null }], /gpu index must be an integer/],
    [
      [
        { index: 0, model: "x", memory: 1, freeMemory: null },
        { index: 0, model: "y", memory: 1, freeMemory: null },
      ],
      /gpu index 0 twice/,
    ],
    [[{ index: 0, model: "x".repeat(201), memory: 1, freeMemory: null }], /bad gpu model/],
    [[{ index: 0, model: "x", memory: 1e12, freeMemory: null }], /whole MB/],
    [[{ index: 0, model: "x", memory: 100, freeMemory: -5 }], /whole MB/],
  ];
  const peers = await Promise.all(cases.map(([gpus], i) => peer({ hostname: `hostile${i}`, gpus })));
  peers.forEach((p, i) => {
    assert.equal(p.welcome, null, `case ${i}`);
    assert.match(p.refused ?? "", (cases[i] as [unknown, RegExp])[1], `case ${i}`);
  });
  const labels = await py<string[]>(`out([c["label"] for c in hq.getClients()])`);
  assert.ok(!labels.some((l) => l.startsWith("hostile")), JSON.stringify(labels));
});

test("a 4-GPU blade runs two 2-GPU jobs on disjoint devices, a third waits; CUDA_VISIBLE_DEVICES is right in each", async () => {
  const release = join(fakeBin, "release");
  const hold = `echo "CUDA=$CUDA_VISIBLE_DEVICES HQ=$HQ_GPUS ORDER=$CUDA_DEVICE_ORDER"; while [ ! -e ${release} ]; do sleep 0.05; done`;
  const ids = await py<number[]>(
    `out([hq.newjob({"name": "gpu%d" % i, "shell": "bash", "command": ${JSON.stringify(hold)}, "gpus": 2})[0] for i in range(3)])`,
  );
  const running = await eventually("two jobs running", async () => {
    const jobs = await py<{ id: number; status: string }[]>(
      `out(hq.getJobs(${JSON.stringify(ids)}, ["id", "status"]))`,
    );
    const run = jobs.filter((j) => j.status === "running");
    return run.length === 2 ? run.map((j) => j.id) : false;
  });
  const third = ids.find((id) => !running.includes(id)) as number;
  // The blade has CPUs to spare (8): only its GPUs keep the third job off it; the plain blade has none.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const waiting = await py<{ status: string; clients: unknown[] }>(
    `out(hq.getJob(${third}, ["status", "clients"]))`,
  );
  assert.equal(waiting.status, "runnable");
  const booked = await py<{ gpus: number[]; hostname: string }[][]>(
    `out([hq.getJob(i, ["clients"])["clients"] for i in ${JSON.stringify(running)}])`,
  );
  const devices = booked.map((clients) => {
    assert.equal(clients.length, 1);
    assert.equal(clients[0]?.hostname, host);
    return clients[0]?.gpus ?? [];
  });
  assert.deepEqual(devices.flat().sort(), [0, 1, 2, 3], JSON.stringify(devices));
  writeFileSync(release, "");
  const outputs = await eventually("all three ran", async () => {
    const jobs = await py<{ status: string }[]>(`out(hq.getJobs(${JSON.stringify(ids)}, ["status"]))`);
    if (!jobs.every((j) => j.status === "succeeded")) return false;
    return py<string[]>(`out([hq.getJobOutput(i) for i in ${JSON.stringify(ids)}])`);
  });
  const seen = outputs.map((text) => /CUDA=(\S*) HQ=(\S*) ORDER=(\S*)/.exec(text)?.slice(1));
  for (const [i, id] of running.entries()) {
    const list = (devices[i] ?? []).join(",");
    assert.deepEqual(seen[ids.indexOf(id)], [list, list, "PCI_BUS_ID"], outputs.join("|"));
  }
  const last = seen[ids.indexOf(third)]?.[0] ?? "";
  assert.ok(["0,1", "2,3"].includes(last), `third job got ${last}`);
});

test("cancelling a GPU job frees its devices at once: the job waiting for them runs", async () => {
  const hold = "sleep 600";
  const [all, next] = await py<number[]>(`out([
    hq.newjob({"name": "all4", "command": ${JSON.stringify(hold)}, "gpus": 4})[0],
    hq.newjob({"name": "next", "command": "echo $CUDA_VISIBLE_DEVICES", "gpus": 4})[0],
  ])`);
  await eventually("the first holds all four", () =>
    py<string>(`out(hq.getJob(${all}, ["status"])["status"])`).then((s) => s === "running"),
  );
  assert.equal(await py<string>(`out(hq.getJob(${next}, ["status"])["status"])`), "runnable");
  await py(`hq.cancelJobs([${all}]); out(True)`);
  await eventually("the second ran on the freed devices", () =>
    py<string>(`out(hq.getJob(${next}, ["status"])["status"])`).then((s) => s === "succeeded"),
  );
  assert.equal((await py<string>(`out(hq.getJobOutput(${next}))`)).trim(), "0,1,2,3");
});

test("GPUs beyond any blade wait with what is missing; a job that fits is not marked", async () => {
  const [tooMany, tooBig, fits] = await py<number[]>(`out([
    hq.newjob({"name": "g5", "command": "true", "gpus": 5})[0],
    hq.newjob({"name": "g4big", "command": "true", "gpus": 4, "gpuMemory": 16000})[0],
    hq.newjob({"name": "g3big", "command": "true", "gpus": 3, "gpuMemory": 16000})[0],
  ])`);
  const jobs = await py<Record<string, unknown>[]>(
    `out(hq.getJobs([${tooMany}, ${tooBig}], ["status", "waitingFor", "showBlockedClientsWarning"]))`,
  );
  assert.deepEqual(jobs, [
    { status: "runnable", waitingFor: "needs 5 GPUs; largest blade has 4", showBlockedClientsWarning: true },
    {
      status: "runnable",
      waitingFor: "needs 4 GPUs with 16000 MB; largest blade has 3",
      showBlockedClientsWarning: true,
    },
  ]);
  await eventually("the job that fits ran", () =>
    py<string>(`out(hq.getJob(${fits}, ["status"])["status"])`).then((s) => s === "succeeded"),
  );
  await py(`hq.cancelJobs([${tooMany}, ${tooBig}]); out(True)`);
});

test("gpus and gpuMemory: negative, fractional, huge or non-numeric values are Faults; children inherit them", async () => {
  const faults = await py<string[]>(`
bad = [{"gpus": -1}, {"gpus": 2.5}, {"gpus": 65}, {"gpus": "two"}, {"gpuMemory": -5}, {"gpuMemory": 10**7},
       {"conditions": [{"name": "hostname", "op": ">=", "value": "a"}]}]
out([fault(lambda: hq_strict.newjob(dict({"name": "bad", "command": "true"}, **b)))["faultString"] for b in bad])`);
  assert.equal(faults.length, 7);
  for (const f of faults.slice(0, 6)) assert.match(f, /expected a whole number from 0 to/);
  assert.match(faults[6] ?? "", /unknown operator ">="/);
  const tree = await py<Record<string, unknown>[]>(`
p = hq.newjob({"name": "parent", "gpus": 1, "gpuMemory": 20000, "children": [
    {"name": "inherits", "command": "true"}, {"name": "own", "command": "true", "gpus": 0}]})[0]
kids = hq.getJob(p, ["children"])["children"]
out(hq.getJobs([p] + kids, ["name", "gpus", "gpuMemory"]))`);
  assert.deepEqual(tree, [
    { name: "parent", gpus: 1, gpuMemory: 20000 },
    { name: "inherits", gpus: 1, gpuMemory: 20000 },
    { name: "own", gpus: 0, gpuMemory: 20000 },
  ]);
});

test("GPU conditions: gpuModel, gpus >= n keep a job without GPUs on the GPU blade", async () => {
  const ids = await py<number[]>(`out([
    hq.newjob({"name": "model", "command": "true", "conditions": [{"type": "client", "name": "gpuModel", "op": "in", "value": "t1000, rtx 9999"}]})[0],
    hq.newjob({"name": "count", "command": "true", "conditions": [{"type": "client", "name": "gpus", "op": ">=", "value": "2"}]})[0],
  ])`);
  const clients = await eventually("both ran", async () => {
    const jobs = await py<{ status: string; clients: { hostname: string; clientId: number }[] }[]>(
      `out(hq.getJobs(${JSON.stringify(ids)}, ["status", "clients"]))`,
    );
    return jobs.every((j) => j.status === "succeeded") ? jobs.map((j) => j.clients[0]?.clientId) : false;
  });
  const gpuId = await py<number>(
    `out([c["id"] for c in hq.getClients() if c["label"] == "${host}:gpu4"][0])`,
  );
  assert.deepEqual(clients, [gpuId, gpuId]);
});

function readLog(agent: TestAgent): string {
  try {
    return readFileSync(agent.logFile, "utf8");
  } catch {
    return "";
  }
}
