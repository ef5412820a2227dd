// GPU booking in the job transitions themselves (real redis-server, the Lua scripts as dispatch runs them):
// moveToAssigned books device indices and never the same device twice; every move that ends a run on a
// client (finish, fail, lost, cancel, eject) frees them for the next job.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { parseNewJob } from "../coordinator/api/jobspec.js";
import { runScript } from "../coordinator/store/lua-scripts.js";
import type { XmlRpcValue } from "../shared/xmlrpc/types.js";
import { startJobsHarness, type JobsHarness } from "./jobs-support.js";

let h: JobsHarness;
const BLADE = 910_001;

before(async () => {
  h = await startJobsHarness();
  // A blade with three GPUs, the second with less memory (the record a hello writes).
  await h.redis.hset(h.keys.client(BLADE), {
    hostname: "gpublade",
    cpus: "64",
    gpus: "3",
    gpuDevices: JSON.stringify([
      { index: 0, model: "A", memory: 24576, freeMemory: null },
      { index: 1, model: "B", memory: 8192, freeMemory: null },
      { index: 2, model: "A", memory: 24576, freeMemory: null },
    ]),
  });
});
after(async () => {
  await h.stop();
});

const add = async (spec: XmlRpcValue) => (await h.store.addJobs(parseNewJob(spec, null, null)))[0] as number;

/** moveToAssigned on the 3-GPU blade: the devices booked there, or the refusal. */
async function assign(id: number): Promise<number[] | string> {
  const reply = (await runScript(h.redis, h.keys.prefix, "moveToAssigned", [id, BLADE])) as unknown[];
  if (reply[0] !== "assigned") return String(reply[0]);
  const flat = reply[2] as string[];
  const clients = JSON.parse(flat[flat.indexOf("clients") + 1] as string) as { gpus?: number[] }[];
  return clients[0]?.gpus ?? [];
}

const attemptOf = async (id: number) => Number(await h.redis.hget(h.keys.job(id), "attempt"));

test("devices are booked once: by memory, in the agent's order; a job without GPUs books none", async () => {
  const big = await add({ name: "big", command: "x", gpus: 1, gpuMemory: 16000 });
  const two = await add({ name: "two", command: "x", gpus: 2 });
  const more = await add({ name: "more", command: "x", gpus: 1 });
  const plain = await add({ name: "plain", command: "x" });
  assert.deepEqual(await assign(big), [0]);
  assert.deepEqual(await assign(two), [1, 2]);
  assert.equal(await assign(more), "busy");
  assert.deepEqual(await assign(plain), []);
  await h.store.cascade("cancelJobs", [big, two, more, plain]);
});

const ends: [string, (id: number) => Promise<unknown>][] = [
  [
    "finish",
    async (id) =>
      h.store.moveToFinished(id, await attemptOf(id), await h.nextSeq(id, await attemptOf(id)), {
        exitCode: 0,
        signal: null,
        reason: "exited",
      }),
  ],
  [
    "fail",
    async (id) =>
      h.store.moveToFinished(id, await attemptOf(id), await h.nextSeq(id, await attemptOf(id)), {
        exitCode: 1,
        signal: null,
        reason: "exited",
      }),
  ],
  ["lost", async (id) => h.store.moveToLost(id, await attemptOf(id), "gpublade", "agent process gone")],
  ["cancel", (id) => h.store.cascade("cancelJobs", [id])],
  ["eject", (id) => h.store.cascade("ejectJobs", [id])],
];

for (const [name, end] of ends)
  test(`${name} frees the run's devices for the next job`, async () => {
    const first = await add({ name: `${name}-first`, command: "x", gpus: 3 });
    const next = await add({ name: `${name}-next`, command: "x", gpus: 3 });
    assert.deepEqual(await assign(first), [0, 1, 2]);
    assert.equal(await assign(next), "busy");
    await end(first);
    assert.deepEqual(await assign(next), [0, 1, 2]);
    await h.store.cascade("cancelJobs", [first, next]);
  });
