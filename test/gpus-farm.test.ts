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
import { eventually } from "./support/farm-kit.js";

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

function readLog(agent: TestAgent): string {
  try {
    return readFileSync(agent.logFile, "utf8");
  } catch {
    return "";
  }
}
