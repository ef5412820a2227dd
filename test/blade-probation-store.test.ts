// A blade on probation (bladeHealth.lua) goes back to work when a frame assigned to it on probation succeeds:
// the job carries onProbation from its assignment, so a success reads the blade's record only then. A frame
// that began before the blade was quarantined does not end the probation by succeeding. Real redis-server,
// the store's transitions driven directly (test/jobs-support.ts).

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { parseNewJob } from "../coordinator/api/jobspec.js";
import { startJobsHarness, type JobsHarness } from "./jobs-support.js";

let h: JobsHarness;
before(async () => {
  h = await startJobsHarness();
});
after(async () => {
  await h.stop();
});

const add = async (name: string) =>
  (await h.store.addJobs(parseNewJob({ name, command: "true" }, null, null)))[0] as number;
const succeed = async (id: number, attempt: number) =>
  h.store.moveToFinished(id, attempt, await h.nextSeq(id, attempt), {
    exitCode: 0,
    signal: null,
    reason: "exited",
  });
const QUARANTINE = ["probation", "quarantinedUntil", "quarantineReason"] as const;

test("a frame assigned on probation ends it by succeeding", async () => {
  const cid = 900_101;
  await h.redis.hset(h.keys.client(cid), "hostname", `node${cid}`, "cpus", "64", "probation", "1");
  await h.redis.hset(
    h.keys.client(cid),
    "quarantinedUntil",
    String(Date.now() - 1000),
    "quarantineReason",
    "{}",
  );
  const id = await add("on probation");
  const attempt = await h.assign(id, cid);
  assert.equal(await h.redis.hget(h.keys.job(id), "onProbation"), "1");
  assert.equal(await succeed(id, attempt), "ok");
  assert.deepEqual(await h.redis.hmget(h.keys.client(cid), ...QUARANTINE), [null, null, null]);
  const history = await h.redis.lrange(h.keys.clientAttempts(cid), 0, -1);
  assert.ok(
    history.some((e) => (JSON.parse(e) as { event?: string }).event === "released"),
    history.join("\n"),
  );
});

test("a frame that began before the quarantine succeeds during it: the probation stays", async () => {
  const cid = 900_102;
  const id = await add("began before");
  const attempt = await h.assign(id, cid);
  assert.equal(await h.redis.hget(h.keys.job(id), "onProbation"), null);
  // The blade is quarantined while the frame runs (its other frames failed), and its quarantine has passed.
  await h.redis.hset(h.keys.client(cid), "probation", "1", "quarantinedUntil", String(Date.now() - 1000));
  assert.equal(await succeed(id, attempt), "ok");
  assert.equal(await h.redis.hget(h.keys.client(cid), "probation"), "1");
});
