// At most openhq.blade.quarantineMaxPercent of the farm's blades (10%, at least one) are in quarantine at once
// (bladeHealth.lua). Frames that fail once wherever they run (a fault of the job or of the farm, not of a
// blade) look, blade by blade, like bad blades: without the cap they quarantined every blade and the farm
// stopped (the short chaos run's stuck jobs). Real redis-server, the store's transitions driven directly.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { parseNewJob } from "../coordinator/api/jobspec.js";
import { runScript } from "../coordinator/store/lua-scripts.js";
import { startJobsHarness, type JobsHarness } from "./jobs-support.js";

let h: JobsHarness;
before(async () => {
  h = await startJobsHarness();
});
after(async () => {
  await h.stop();
});

const BLADES = [910_001, 910_002, 910_003, 910_004];

const end = async (id: number, attempt: number, exitCode: number) =>
  h.store.moveToFinished(id, attempt, await h.nextSeq(id, attempt), {
    exitCode,
    signal: null,
    reason: "exited",
  });

async function quarantined(): Promise<number[]> {
  const now = Date.now();
  const out: number[] = [];
  for (const cid of BLADES)
    if (Number(await h.redis.hget(h.keys.client(cid), "quarantinedUntil")) > now) out.push(cid);
  return out;
}

async function events(cid: number): Promise<string[]> {
  return (await h.redis.lrange(h.keys.clientAttempts(cid), 0, -1))
    .map((e) => (JSON.parse(e) as { event?: string }).event ?? "")
    .filter(Boolean);
}

/** Frames that fail their first attempt on one blade and succeed on the next, round the blades not quarantined. */
async function flakyFrames(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const [id] = await h.store.addJobs(
      parseNewJob({ name: `flaky ${i}`, command: "true", triesLeft: 2 }, null, null),
    );
    const out = new Set(await quarantined());
    const open = BLADES.filter((b) => !out.has(b));
    assert.equal(await end(id as number, await h.assign(id as number, open[i % open.length]), 3), "ok");
    assert.equal(await end(id as number, await h.assign(id as number, open[(i + 1) % open.length]), 0), "ok");
  }
}

test("frames failing once wherever they run quarantine one blade of four, never the farm", async () => {
  for (const cid of BLADES) await h.redis.hset(h.keys.clientsByLabel, `vm:blade${cid}`, String(cid));
  await flakyFrames(24);
  const held = await quarantined();
  assert.equal(held.length, 1, "10% of four blades is less than one: one blade at most");
  assert.deepEqual(await h.redis.zrange(h.keys.bladesQuarantined, "0", "-1"), held.map(String));
  const back = BLADES.filter((b) => b !== held[0]);
  for (const cid of back) {
    assert.equal(await h.redis.hget(h.keys.client(cid), "probation"), null);
    assert.ok(
      (await events(cid)).includes("notQuarantined"),
      `blade ${cid}: ${(await events(cid)).join(", ")}`,
    );
  }
});

test("the room comes back when a quarantine ends: released by an administrator, or its time is up", async () => {
  const [first] = await quarantined();
  assert.equal(await runScript(h.redis, h.keys.prefix, "releaseClient", [first as number]), 1);
  assert.deepEqual(await h.redis.zrange(h.keys.bladesQuarantined, "0", "-1"), []);
  await flakyFrames(8);
  const [second] = await quarantined();
  assert.ok(second !== undefined && second !== first, "another blade takes the freed room");
  // Its quarantine has run out (probation: one frame at a time): it no longer counts against the cap.
  await h.redis.hset(h.keys.client(second), "quarantinedUntil", String(Date.now() - 1000));
  await h.redis.zadd(h.keys.bladesQuarantined, Date.now() - 1000, String(second));
  await flakyFrames(8);
  const third = await quarantined();
  assert.equal(third.length, 1);
  assert.notEqual(third[0], second);
});
