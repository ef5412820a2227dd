// The notice outbox on a real Redis, through the job store and the Lua steps themselves: a transition records
// a notice only when someone wants it (nothing at all on a farm without mail and webhooks); the fencing token
// of a claim turns stale when its lease runs out and another sender claims; a full outbox drops its oldest
// notices and counts them.

import { test } from "node:test";
import assert from "node:assert/strict";
import { parseNewJob } from "../coordinator/api/jobspec.js";
import { JobStore } from "../coordinator/store/jobs.js";
import { Keys } from "../coordinator/store/keys.js";
import { Outbox, type MailNotice } from "../coordinator/notices/outbox.js";
import { testLogs } from "./support/context.js";
import { useRedis } from "./support/redis.js";
import type { Redis } from "ioredis";

let redis: Redis;
const keys = new Keys("tn:");
let store: JobStore;
let outbox: Outbox;

useRedis(async (client) => {
  redis = client;
  // No job here writes output: the log store is opened, its sweep not started.
  const logs = await testLogs(redis, keys, { sweep: false });
  store = new JobStore({ redis, keys, settings: { maxOutputBytes: 1 << 20 }, logs });
  outbox = new Outbox(redis, keys);
});

const mailed = { name: "mailed", command: "true", emailTo: "a@example.com", emailReasons: "cancelled" };

async function cancelNew(spec: Record<string, string>): Promise<number> {
  const [id] = await store.addJobs(parseNewJob(spec, null, null));
  await store.cascade("cancelJobs", [id as number]);
  return id as number;
}

test("a transition records a notice only when mail or a webhook wants it", async () => {
  await redis.del(keys.notices, keys.noticesDue, keys.noticesNew, keys.noticesOn);
  // No smtp_server, no webhooks: not even a job's own emailReasons records anything.
  await outbox.configure(10_000, false, []);
  await cancelNew(mailed);
  assert.equal(await redis.exists(keys.notices, keys.noticesDue, keys.noticesNew, keys.noticesOn), 0);

  await outbox.configure(10_000, true, []);
  const id = await cancelNew(mailed);
  await cancelNew({ name: "plain", command: "true" });
  await cancelNew({ ...mailed, emailReasons: "succeeded" });
  const claimed = await outbox.claim(60_000, 10);
  assert.equal(claimed.length, 1);
  assert.deepEqual(
    { ...claimed[0]?.notice, at: 0 },
    { type: "transition", jobId: id, status: "cancelled", from: "runnable", at: 0 },
  );
  await outbox.replace(claimed[0] ?? null, []);

  // A webhook that wants `cancelled` records every job's cancel.
  await outbox.configure(10_000, false, ["cancelled"]);
  await cancelNew({ name: "plain", command: "true" });
  assert.equal(await outbox.pending(), 1);
  await redis.del(keys.notices, keys.noticesDue, keys.noticesNew);
});

test("a claim's token goes stale when the lease runs out and another sender claims", async () => {
  await outbox.configure(10_000, true, []);
  await cancelNew(mailed);
  const [first] = await outbox.claim(30, 10);
  assert.ok(first);
  assert.deepEqual(await outbox.claim(30, 10), [], "claimed notices are not due again within the lease");
  await new Promise((r) => setTimeout(r, 50));
  const [second] = await outbox.claim(60_000, 10);
  assert.equal(second?.id, first.id);
  assert.notEqual(second?.token, first.token);
  assert.equal(await outbox.replace(first, []), false, "the first sender's claim is stale");
  assert.equal(
    await outbox.retry(first, Date.now(), { at: 0, kind: "mail", target: "x", outcome: "retry", tries: 1 }),
    false,
  );
  assert.equal(await outbox.pending(), 1);
  assert.equal(await outbox.replace(second ?? null, []), true);
  assert.equal(await outbox.pending(), 0);
  assert.equal(await redis.hlen(keys.notices), 0);
});

test("a full outbox drops its oldest notices and counts them", async () => {
  await outbox.configure(100, true, []);
  const mail = (i: number): MailNotice => ({
    type: "mail",
    kind: "digest",
    to: ["ops@example.com"],
    from: "f@example.com",
    subject: `n${i}`,
    text: "",
    at: Date.now(),
    tries: 0,
  });
  const before = await outbox.dropped();
  await outbox.replace(
    null,
    Array.from({ length: 130 }, (_, i) => mail(i)),
  );
  assert.equal(await outbox.pending(), 100);
  assert.equal(await redis.hlen(keys.notices), 100);
  assert.equal((await outbox.dropped()) - before, 30);
  const subjects = (await outbox.claim(60_000, 200)).map((c) => (c.notice as MailNotice).subject);
  assert.equal(subjects.length, 100);
  assert.ok(!subjects.includes("n0") && !subjects.includes("n29") && subjects.includes("n30"));
});

test("transitions past the bound drop the oldest waiting one; a claim gives the rest ids in order", async () => {
  await redis.del(keys.notices, keys.noticesDue, keys.noticesNew);
  await outbox.configure(5, false, ["cancelled"]);
  const before = await outbox.dropped();
  const ids: number[] = [];
  for (let i = 0; i < 8; i++) ids.push(await cancelNew({ name: `t${i}`, command: "true" }));
  assert.equal(await outbox.pending(), 5);
  assert.equal((await outbox.dropped()) - before, 3);
  const first = await outbox.claim(60_000, 2);
  const rest = await outbox.claim(60_000, 10);
  assert.deepEqual(
    [...first, ...rest].map((c) => (c.notice.type === "transition" ? c.notice.jobId : 0)),
    ids.slice(3),
  );
  const claimIds = [...first, ...rest].map((c) => c.id);
  assert.deepEqual([...claimIds].sort(), claimIds, "ids sort in claim order");
  assert.equal(await outbox.pending(), 5, "claimed transitions stay in the outbox until they are ended");
  assert.equal(await outbox.replace(first[0] ?? null, []), true);
  assert.equal(await outbox.pending(), 4);
  await redis.del(keys.notices, keys.noticesDue, keys.noticesNew);
});
