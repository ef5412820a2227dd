// The agent's GPU probe and job variables as functions: nvidia-smi's CSV, systeminformation's adapters, the
// real systeminformation path on this machine (no GPU here), and the variables a job with GPUs sees.

import assert from "node:assert/strict";
import { test } from "node:test";
import { fromControllers, parseNvidiaSmi, probeGpus } from "../agent/gpus.js";
import { gpuSummary } from "../cli/commands.js";
import { gpuEnvironment } from "../agent/job-env.js";
import { satisfies, type ClientFacts } from "../coordinator/scheduler/conditions.js";
import { pickGpus } from "../coordinator/scheduler/gpus.js";
import { needsGpus } from "../coordinator/scheduler/waiting-reasons.js";
import { parseJobInfo } from "../coordinator/scheduler/job-info.js";
import { blockedReason, type RegisteredClient } from "../coordinator/scheduler/waiting.js";
import type { GpuDevice } from "../shared/protocol.js";

const card = (index: number, memory: number, model = "NVIDIA RTX A5000"): GpuDevice => ({
  index,
  model,
  memory,
  freeMemory: null,
});

test("nvidia-smi's CSV: indices, memory, [N/A] free memory, a name with a comma; junk lines left out", () => {
  const csv = [
    "0, 24576, 24000, NVIDIA RTX A5000",
    "1, 8192, [N/A], Tesla T4, rev 2",
    "[N/A], 100, 100, broken",
    "1, 1, 1, duplicate index",
    "not a line",
    "",
  ].join("\n");
  assert.deepEqual(parseNvidiaSmi(csv), [
    { index: 0, model: "NVIDIA RTX A5000", memory: 24576, freeMemory: 24000 },
    { index: 1, model: "Tesla T4, rev 2", memory: 8192, freeMemory: null },
  ]);
});

test("systeminformation's adapters: GPU vendors count (numbered in order), a BMC or VM adapter does not", () => {
  const { devices, ignored } = fromControllers([
    { vendor: "ASPEED Technology, Inc.", model: "ASPEED Graphics Family", vram: 8 },
    { vendor: "NVIDIA Corporation", model: "GA102GL [RTX A6000]", vram: 49140 },
    { vendor: "Advanced Micro Devices, Inc. [AMD/ATI]", model: "Navi 31", vram: null },
    { vendor: "VMware", model: "SVGA II Adapter", vram: 16 },
  ]);
  assert.deepEqual(devices, [
    { index: 0, model: "NVIDIA Corporation GA102GL [RTX A6000]", memory: 49140, freeMemory: null },
    { index: 1, model: "Advanced Micro Devices, Inc. [AMD/ATI] Navi 31", memory: 0, freeMemory: null },
  ]);
  assert.deepEqual(ignored, ["ASPEED Technology, Inc. ASPEED Graphics Family", "VMware SVGA II Adapter"]);
});

test("the real systeminformation path here: no nvidia-smi, no crash, what it finds (no GPU on this machine)", async () => {
  const found = await probeGpus("/nonexistent/nvidia-smi");
  assert.equal(found.source, "systeminformation");
  assert.ok(Array.isArray(found.devices) && Array.isArray(found.ignored));
  // Whatever adapters this machine shows, none is a GPU vendor's render card.
  assert.deepEqual(found.devices, []);
});

test("a job's GPU variables: CUDA order and devices, HQ_GPUS; none for a job without GPUs", () => {
  assert.deepEqual(gpuEnvironment([2, 3]), {
    CUDA_VISIBLE_DEVICES: "2,3",
    CUDA_DEVICE_ORDER: "PCI_BUS_ID",
    HQ_GPUS: "2,3",
  });
  assert.deepEqual(gpuEnvironment([]), {});
  assert.deepEqual(gpuEnvironment(undefined), {});
});

test("GPU picks: the first free devices with enough memory, in the agent's order; null when too few", () => {
  const devices = [card(0, 24576), card(1, 8192), card(2, 24576), card(3, 24576)];
  assert.deepEqual(pickGpus(devices, new Set(), { gpus: 2, gpuMemory: 0 }), [0, 1]);
  assert.deepEqual(pickGpus(devices, new Set(), { gpus: 2, gpuMemory: 16000 }), [0, 2]);
  assert.deepEqual(pickGpus(devices, new Set([0, 2]), { gpus: 1, gpuMemory: 16000 }), [3]);
  assert.equal(pickGpus(devices, new Set([0, 2]), { gpus: 2, gpuMemory: 16000 }), null);
  assert.deepEqual(pickGpus(devices, new Set([0, 1, 2, 3]), { gpus: 0, gpuMemory: 0 }), []);
  assert.equal(needsGpus({ gpus: 1, gpuMemory: 0 }, 0), "needs 1 GPU; largest blade has 0");
});

test("GPU conditions: gpus and gpuMemory compare as numbers, gpuModel matches parts of model names", () => {
  const blade: ClientFacts = {
    hostname: "b1",
    name: "",
    os: "linux",
    groups: new Set(),
    gpuDevices: [card(0, 24576), card(1, 8192, "NVIDIA T1000 8GB")],
  };
  const plain: ClientFacts = { hostname: "b2", name: "", os: "linux", groups: new Set() };
  const cond = (name: string, op: string, value: string) => ({ type: "client", name, op, value });
  assert.ok(satisfies(blade, cond("gpus", ">=", "2")));
  assert.ok(!satisfies(blade, cond("gpus", ">", "2")));
  assert.ok(satisfies(blade, cond("gpus", "==", "2")));
  assert.ok(satisfies(plain, cond("gpus", "<", "1")));
  assert.ok(satisfies(blade, cond("gpuMemory", ">=", "24576")));
  assert.ok(!satisfies(plain, cond("gpuMemory", ">=", "1")));
  assert.ok(!satisfies(blade, cond("gpuMemory", ">=", "lots")));
  assert.ok(satisfies(blade, cond("gpuModel", "in", "rtx 9999; t1000")));
  assert.ok(!satisfies(blade, cond("gpuModel", "not_in", "A5000")));
  assert.ok(!satisfies(plain, cond("gpuModel", "==", "A5000")));
  // The comparison ops mean nothing for HQueue's names: never satisfied (and refused at submit).
  assert.ok(!satisfies(blade, cond("hostname", ">=", "a")));
});

test("waiting reasons: what GPUs are missing, only among blades that meet the job's other needs", () => {
  const client = (cpus: number, gpuDevices: GpuDevice[]): RegisteredClient => ({
    id: 1,
    hostname: "h",
    name: "",
    os: "linux",
    groups: new Set(),
    terminated: false,
    cpus,
    gpuDevices,
  });
  const job = (cpus: string, gpus: string, gpuMemory: string) =>
    parseJobInfo(1, [cpus, null, null, "1", "1", null, null, "c", gpus, gpuMemory]);
  const farm = [client(4, [card(0, 8192)]), client(64, [card(0, 24576), card(1, 24576)])];
  assert.equal(blockedReason(job("1", "2", "0"), farm), null);
  assert.equal(blockedReason(job("1", "3", "0"), farm), "needs 3 GPUs; largest blade has 2");
  assert.equal(blockedReason(job("1", "2", "16000"), farm), null);
  assert.equal(
    blockedReason(job("8", "1", "0"), [client(4, [card(0, 1)])]),
    "needs 8 CPUs; largest blade has 4",
  );
  assert.equal(
    blockedReason(job("1", "2", "16000"), [client(4, [card(0, 8192), card(1, 24576)])]),
    "needs 2 GPUs with 16000 MB; largest blade has 1",
  );
});

test("openhq clients: a blade's GPUs as a count and its models, same models counted", () => {
  assert.equal(gpuSummary(undefined, undefined), "-");
  assert.equal(gpuSummary(0, []), "-");
  assert.equal(gpuSummary(1, ["NVIDIA RTX A6000"]), "1: NVIDIA RTX A6000");
  assert.equal(gpuSummary(3, ["A6000", "T4", "A6000"]), "3: 2× A6000, T4");
});
