// The agent's GPU probe and job variables as functions: nvidia-smi's CSV, systeminformation's adapters, the
// real systeminformation path on this machine (no GPU here), and the variables a job with GPUs sees.

import assert from "node:assert/strict";
import { test } from "node:test";
import { fromControllers, parseNvidiaSmi, probeGpus } from "../agent/gpus.js";
import { gpuEnvironment } from "../agent/job-env.js";

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
