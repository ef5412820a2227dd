// The job store's Lua transitions, driven directly against a real redis-server: tree resolution, roll-ups,
// retries, fencing, the job operations and their cascades. The scheduler's moveToAssigned stands in for
// dispatch (test/jobs-support.ts).

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { parseNewJob } from "../coordinator/api/jobspec.js";
import { JobStore } from "../coordinator/store/jobs.js";
import { jobAttributes } from "../coordinator/store/job-view.js";
import { thinClock } from "../coordinator/store/queue.js";
import type { Context } from "../coordinator/context.js";
import type { XmlRpcValue } from "../shared/xmlrpc/types.js";
import { Conflict, NotFound } from "../coordinator/refusal.js";
import { startJobsHarness, type JobsHarness } from "./jobs-support.js";

let h: JobsHarness;
before(async () => {
  h = await startJobsHarness({ maxOutputBytes: 64 });
});
after(async () => {
  await h.stop();
});

const add = (spec: XmlRpcValue, parent?: number) => h.store.addJobs(parseNewJob(spec, parent ?? null, null));

async function attrs(id: number, names = ["status"]) {
  const [job] = await h.store.read([id]);
  assert.ok(job, `job ${id} exists`);
  return jobAttributes(job, names, Date.now());
}
const status = async (id: number) => (await attrs(id)).status;
const finish = async (id: number, attempt: number, exitCode = 0, seq?: number) =>
  h.store.moveToFinished(id, attempt, seq ?? (await h.nextSeq(id, attempt)), {
    exitCode,
    signal: null,
    reason: "exited",
  });

test("a parent waits for its children, then runs; roll-ups follow", async () => {
  const [root, a, b] = await add({
    name: "root",
    command: "echo root",
    children: [
      { name: "a", command: "echo a" },
      { name: "b", command: "echo b" },
    ],
  });
  assert.equal(await status(root!), "queued");
  assert.equal(await status(a!), "runnable");
  assert.deepEqual((await attrs(root!, ["children"])).children, [a, b]);
  assert.deepEqual(await attrs(a!, ["parents", "rootJobId"]), { parents: [root], rootJobId: root });

  const attempt = await h.assign(a!);
  assert.equal(attempt, 1);
  assert.equal(await h.store.updateProgress(a!, 1, 1, 0.5), "ok");
  const r = await attrs(root!, ["uiStatus", "overallProgress", "startTime"]);
  assert.equal(r.uiStatus, "running (1 clients assigned)");
  assert.equal(r.overallProgress, 0.5 / 3);
  assert.ok(r.startTime instanceof Date);

  assert.equal(await finish(a!, 1), "ok");
  assert.equal(await status(a!), "succeeded");
  assert.equal(await status(root!), "queued");
  await h.assign(b!);
  assert.equal(await finish(b!, 1), "ok");
  assert.equal(await status(root!), "runnable");
  await h.assign(root!);
  assert.equal(await finish(root!, 1), "ok");
  const done = await attrs(root!, ["status", "overallProgress", "endTime", "ETA"]);
  assert.deepEqual([done.status, done.overallProgress, done.ETA], ["succeeded", 1, 0]);
  assert.ok(done.endTime instanceof Date);
  assert.ok((await h.store.rootIds(true)).includes(root!));
  assert.ok(!(await h.store.rootIds(false)).includes(root!));
});

test("the queue is ordered by priority, then arrival; setJobPriority re-scores", async () => {
  const ids = await add([
    { name: "low", command: "x", priority: 1 },
    { name: "high", command: "x", priority: "5 (Medium)" },
    { name: "low2", command: "x", priority: 1 },
  ]);
  const order = async () =>
    (await h.redis.zrange(h.keys.queue, "0", "-1")).map(Number).filter((id) => ids.includes(id));
  assert.deepEqual(await order(), [ids[1], ids[0], ids[2]]);
  await h.store.setPriority([ids[2]!], 9);
  assert.deepEqual(await order(), [ids[2], ids[1], ids[0]]);
  await h.store.setPriority([ids[2]!], 1);
  assert.deepEqual(await order(), [ids[1], ids[0], ids[2]]);
  await h.store.cascade("cancelJobs", ids);
  assert.deepEqual(await order(), []);
});

test("a failed child fails a commandless parent; onChildError gets a run of its own", async () => {
  const [root, a] = await add({ name: "c", children: [{ name: "a", command: "false" }] });
  await h.assign(a!);
  await finish(a!, 1, 1);
  assert.equal(await status(a!), "failed");
  assert.equal(await status(root!), "failed");

  const [p, c] = await add({
    name: "p",
    command: "run",
    onChildError: "notify",
    children: [{ name: "c", command: "x" }],
  });
  await h.assign(c!);
  await finish(c!, 1, 2);
  assert.equal(await status(p!), "runnable");
  assert.equal(await h.redis.hget(h.keys.job(p!), "childError"), "1");
  await h.assign(p!);
  await finish(p!, 1, 0);
  assert.equal(await status(p!), "failed");
});

test("commandless jobs succeed at once, or when their children do", async () => {
  const [empty] = await add({ name: "empty", command: "" });
  assert.equal(await status(empty!), "succeeded");
  const [root, c] = await add({ name: "r", children: [{ name: "c", command: "x" }] });
  await h.assign(c!);
  await finish(c!, 1);
  assert.equal(await status(root!), "succeeded");
});

test("triesLeft retries a failure; fencing drops the old attempt", async () => {
  const [id] = await add({ name: "retry", command: "x", triesLeft: 1 });
  const first = await h.assign(id!);
  assert.equal(await h.store.appendOutput(id!, first, 1, "one "), "ok");
  assert.equal(await finish(id!, first, 3, 2), "ok");
  assert.deepEqual(await attrs(id!, ["status", "triesLeft"]), { status: "runnable", triesLeft: 0 });
  // Late messages of attempt 1 change nothing.
  assert.equal(await h.store.appendOutput(id!, first, 3, "late"), "stale");
  assert.equal(await finish(id!, first, 0, 4), "stale");
  const second = await h.assign(id!);
  assert.equal(second, 2);
  assert.equal(await h.store.updateProgress(id!, first, 5, 0.9), "stale");
  assert.equal(await h.store.appendOutput(id!, second, 1, "two"), "ok");
  assert.equal(await h.store.appendOutput(id!, second, 1, "two"), "duplicate");
  assert.equal((await h.store.output(id!)).toString(), "two");
  assert.equal(await finish(id!, second, 3, 2), "ok");
  assert.equal(await status(id!), "failed");
});

test("a lost blade requeues its run without spending a try; maxLostAttempts abandons", async () => {
  const [id] = await add({ name: "lost", command: "x" });
  const first = await h.assign(id!);
  assert.equal(await h.store.moveToLost(id!, first, "node1", "agent process gone"), "requeued");
  assert.deepEqual(await attrs(id!, ["status", "triesLeft"]), { status: "runnable", triesLeft: 0 });
  assert.equal(await h.store.moveToLost(id!, first, "node1", "again"), "stale");
  const second = await h.assign(id!);
  assert.equal(await h.store.moveToLost(id!, second, "node2", "not responding"), "requeued");
  const third = await h.assign(id!);
  assert.equal(await h.store.moveToLost(id!, third, "node3", "agent restarted"), "abandoned");
  const { status: final, logs } = await attrs(id!, ["status", "logs"]);
  assert.equal(final, "abandoned");
  const texts = (logs as [string, Date][]).map((l) => l[0]);
  assert.ok(
    texts.includes("blade lost: node1, agent process gone (requeued; 1 of 3 lost attempts)"),
    texts.join("|"),
  );
  assert.ok(
    texts.includes("blade lost: node3, agent restarted (3 of 3 lost attempts: abandoned)"),
    texts.join("|"),
  );
  // A wrangler's reschedule starts the count again.
  await h.store.cascade("rescheduleJobs", [id!]);
  const fourth = await h.assign(id!);
  assert.equal(await h.store.moveToLost(id!, fourth, "node1", "agent process gone"), "requeued");
  // The blade's history and error log record each loss (bladeHealth.lua); a loss is no failure of the blade.
  const history = (await h.redis.lrange(h.keys.clientAttempts(900_001), 0, -1)).map(
    (e) => JSON.parse(e) as Record<string, unknown>,
  );
  assert.equal(history.filter((e) => e["job"] === id && e["result"] === "lost").length, 4);
  assert.equal(history[0]?.["why"], "agent process gone");
  assert.match(
    (await h.redis.lrange(h.keys.clientErrors(900_001), 0, 0))[0] ?? "",
    /blade lost: agent process gone/,
  );
  const fails = await h.redis.lrange(h.keys.clientFails(900_001), 0, -1);
  assert.ok(!fails.some((f) => (JSON.parse(f) as { job: number }).job === id), "a loss is no failure");
});

test("a parent does not fail when its child's blade is lost", async () => {
  const [parent, child] = await add({
    name: "parent",
    command: "",
    children: [{ name: "child", command: "x" }],
  });
  const attempt = await h.assign(child!);
  assert.equal(await h.store.moveToLost(child!, attempt, "node1", "agent process gone"), "requeued");
  assert.equal(await status(parent!), "queued");
  assert.equal(await status(child!), "runnable");
  await finish(child!, await h.assign(child!));
  assert.equal(await status(parent!), "succeeded");
});

const CUT =
  "\n[openhq: output cut here: the attempt printed more than openhq.maxOutputBytes = 64 bytes; the rest was dropped]\n";

test("output over the cap keeps its first cap bytes and a marker; the job goes on", async () => {
  const [id] = await add({ name: "chatty", command: "x" });
  const attempt = await h.assign(id!);
  let all = "";
  for (let seq = 1; seq <= 20; seq++) {
    const line = `line ${seq}\n`;
    all += line;
    assert.equal(await h.store.appendOutput(id!, attempt, seq, line), "ok");
  }
  assert.equal((await h.store.output(id!)).toString(), `${all.slice(0, 64)}${CUT}`);
  assert.equal(await h.redis.hget(h.keys.jobLog(id!, attempt), "cut"), String(all.length - 64));
  assert.equal(await finish(id!, attempt, 0, 21), "ok");
  assert.equal(await status(id!), "succeeded");
});

test("a run of output chunks in one call: applied chunks are skipped, the cap behaves as chunk by chunk", async () => {
  const [id] = await add({ name: "batched", command: "x" });
  const attempt = await h.assign(id!);
  assert.equal(await h.store.appendOutputs(id!, attempt, 1, ["a", "b"]), "ok");
  // A resend after a lost ack overlaps what was applied: only seq 3 and 4 are new.
  assert.equal(await h.store.appendOutputs(id!, attempt, 2, ["b", Buffer.from("c"), "d"]), "ok");
  assert.equal(await h.store.appendOutputs(id!, attempt, 1, ["a", "b", "c", "d"]), "duplicate");
  assert.equal((await h.store.output(id!)).toString(), "abcd");
  const lines = Array.from({ length: 20 }, (_, i) => `line ${i + 5}\n`);
  assert.equal(await h.store.appendOutputs(id!, attempt, 5, lines), "ok");
  const all = "abcd" + lines.join("");
  assert.equal((await h.store.output(id!)).toString(), `${all.slice(0, 64)}${CUT}`);
  assert.equal((await h.store.output(id!, 10)).toString().slice(-10), CUT.slice(-10));
});

test("past the log store quota (openhq.maxLogBytes), new output is cut behind one marker", async () => {
  const quota = new JobStore({
    redis: h.redis,
    keys: h.keys,
    settings: { maxOutputBytes: 0, maxLogBytes: 100 },
    logs: h.logs,
  });
  const [id] = await add({ name: "over quota", command: "x" });
  const attempt = await h.assign(id!);
  await h.redis.set(h.keys.logsBytes, 100);
  try {
    assert.equal(await quota.appendOutput(id!, attempt, 1, "lost"), "ok");
    assert.equal(await quota.appendOutput(id!, attempt, 2, "lost too"), "ok");
    assert.match(
      (await quota.output(id!)).toString(),
      /^\n\[openhq: output cut here: the job logs reached openhq.maxLogBytes = 100 compressed bytes; the rest was dropped\]\n$/,
    );
    assert.equal(await h.redis.hget(h.keys.jobLog(id!, attempt), "cut"), "12");
  } finally {
    await h.redis.del(h.keys.logsBytes);
  }
});

test("a running job that gains a child waits for it after its command, without running again", async () => {
  const [id] = await add({ name: "spawner", command: "x" });
  const attempt = await h.assign(id!);
  const [child] = await add({ name: "late child", command: "y" }, id);
  assert.equal(await status(id!), "running");
  await finish(id!, attempt);
  assert.equal(await status(id!), "queued");
  await h.assign(child!);
  await finish(child!, 1);
  assert.equal(await status(id!), "succeeded");
  assert.equal(await h.redis.hget(h.keys.job(id!), "attempt"), "1");
});

test("a runnable parent that gains a child goes back to waiting", async () => {
  const [p] = await add({ name: "p", command: "x" });
  assert.equal(await status(p!), "runnable");
  const [c] = await add({ name: "c", command: "y" }, p);
  assert.equal(await status(p!), "queued");
  assert.equal(await h.redis.zscore(h.keys.queue, String(p)), null);
  await h.assign(c!);
  await finish(c!, 1);
  assert.equal(await status(p!), "runnable");
});

test("cancel cascades, tells the agent and releases the client", async () => {
  const [root, a, b] = await add({
    name: "r",
    children: [
      { name: "a", command: "x" },
      { name: "b", command: "y" },
    ],
  });
  const attempt = await h.assign(a!, 7);
  const sub = new Redis(h.redis.options);
  const messages: string[] = [];
  sub.on("message", (_channel, message: string) => messages.push(message));
  await sub.subscribe(h.keys.controlChannel(7));
  assert.equal(await h.store.cascade("cancelJobs", [root!]), 3);
  for (const id of [root, a, b]) assert.equal(await status(id!), "cancelled");
  assert.deepEqual(await h.redis.smembers(h.keys.clientJobs(7)), []);
  assert.deepEqual(await h.redis.lrange(h.keys.clientHistory(7), "0", "0"), [String(a)]);
  for (let i = 0; i < 50 && messages.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(JSON.parse(messages[0]!), { type: "cancel", jobId: a, attempt });
  sub.disconnect();
  // The cancelled attempt's report arrives late: nothing changes.
  assert.equal(await finish(a!, attempt), "stale");
  assert.equal(await status(a!), "cancelled");
});

test("pause and resume: waiting jobs leave and re-enter the queue, running ones go through the agent", async () => {
  const [root, a, b] = await add({
    name: "r",
    children: [
      { name: "a", command: "x" },
      { name: "b", command: "y" },
    ],
  });
  const attempt = await h.assign(a!);
  await h.store.cascade("pauseJobs", [root!]);
  assert.deepEqual(
    [await status(root!), await status(a!), await status(b!)],
    ["paused", "pausing", "paused"],
  );
  assert.equal(await h.redis.zscore(h.keys.queue, String(b)), null);
  assert.equal(await h.store.confirmPaused(a!, attempt, 1), "ok");
  assert.equal(await status(a!), "paused");
  await h.store.cascade("resumeJobs", [root!]);
  assert.deepEqual(
    [await status(root!), await status(a!), await status(b!)],
    ["queued", "resuming", "runnable"],
  );
  assert.equal(await h.store.confirmResumed(a!, attempt, 2), "ok");
  assert.equal(await status(a!), "running");
  const logs = (await attrs(a!, ["logs"])).logs as [string, Date][];
  assert.ok(logs.some(([text]) => text === "resumed"));
  await h.store.cascade("cancelJobs", [root!]);
});

test("a paused parent whose children finish resolves on resume", async () => {
  const [root, a] = await add({ name: "r", children: [{ name: "a", command: "x" }] });
  const attempt = await h.assign(a!);
  await h.store.cascade("pauseJobs", [root!]);
  await h.store.confirmPaused(a!, attempt, 1);
  await h.store.cascade("resumeJobs", [a!]);
  await h.store.confirmResumed(a!, attempt, 2);
  await finish(a!, attempt);
  assert.equal(await status(root!), "paused");
  await h.store.cascade("resumeJobs", [root!]);
  assert.equal(await status(root!), "succeeded");
});

test("eject puts a running job back in the queue", async () => {
  const [id] = await add({ name: "e", command: "x" });
  const attempt = await h.assign(id!, 3);
  assert.equal(await h.store.cascade("ejectJobs", [id!]), 1);
  assert.equal(await status(id!), "runnable");
  assert.deepEqual(await h.redis.smembers(h.keys.clientJobs(3)), []);
  assert.equal(await finish(id!, attempt), "stale");
  assert.equal(await h.assign(id!), 2);
  await h.store.cascade("cancelJobs", [id!]);
});

test("reschedule reopens a failed tree: the failed child and its parent", async () => {
  const [root, ok, bad] = await add({
    name: "r",
    command: "final",
    children: [
      { name: "ok", command: "x" },
      { name: "bad", command: "y" },
    ],
  });
  await h.assign(ok!);
  await finish(ok!, 1);
  await h.assign(bad!);
  await finish(bad!, 1, 1);
  assert.equal(await status(root!), "failed");
  await h.store.cascade("rescheduleJobs", [root!]);
  assert.deepEqual(
    [await status(root!), await status(ok!), await status(bad!)],
    ["queued", "succeeded", "runnable"],
  );
  await h.assign(bad!);
  await finish(bad!, 2);
  assert.equal(await status(root!), "runnable");
  const logs = (await attrs(bad!, ["logs"])).logs as [string, Date][];
  assert.ok(logs.some(([text]) => text === "rescheduled"));
  await h.store.cascade("cancelJobs", [root!]);
});

test("delete: finished trees only, everything goes", async () => {
  const [root, c] = await add({ name: "r", children: [{ name: "c", command: "x" }] });
  await assert.rejects(h.store.cascade("deleteJobs", [root!]), (e) => e instanceof Conflict);
  assert.equal(await status(root!), "queued");
  await h.assign(c!);
  await h.store.appendOutput(c!, 1, 1, "out");
  await finish(c!, 1);
  await h.logs.writer.idle(); // the finished attempt's log is sealed (its lock key is short-lived)
  assert.equal(await h.store.cascade("deleteJobs", [root!]), 2);
  assert.deepEqual(await h.store.read([root!, c!]), [null, null]);
  assert.deepEqual(await h.redis.keys(`${h.keys.job(c!)}:*`), [], "its log keys go too");
  assert.notEqual(
    await h.redis.zscore(h.keys.logsTrash, String(c)),
    null,
    "its files are queued for removal",
  );
  assert.equal(await h.redis.zscore(h.keys.jobsByStatus("succeeded"), String(root)), null);
  assert.equal(await h.redis.zscore(h.keys.expiry, String(root)), null);
  await assert.rejects(h.store.cascade("deleteJobs", [root!]), (e) => e instanceof NotFound);
});

test("expireJobs deletes finished roots older than expireJobsDays", async () => {
  const [old] = await add({ name: "old", command: "" });
  const [young] = await add({ name: "young", command: "" });
  await h.redis.zadd(h.keys.expiry, Date.now() - 3 * 86_400_000, String(old));
  assert.equal(await h.store.expireJobs(Date.now(), 2), 1);
  assert.deepEqual(await h.store.read([old!]), [null]);
  assert.notEqual(await h.redis.zscore(h.keys.logsTrash, String(old)), null, "its log files go too");
  assert.notEqual((await h.store.read([young!]))[0], null);
});

test("a bad reference creates nothing", async () => {
  const before = await h.redis.get(h.keys.ids("job"));
  await assert.rejects(
    add({ name: "orphan", command: "x", parentIds: [999999] }),
    (e) => e instanceof NotFound,
  );
  await assert.rejects(add([{ name: "ok" }, { name: "bad", childrenIds: [999999] }]), NotFound);
  assert.equal(await h.redis.get(h.keys.ids("job")), before);
});

test("conditions are inherited from the root, submittedBy from the parent", async () => {
  const [root, child, grandchild] = await add({
    name: "r",
    host: "node1, node2",
    submittedBy: "ann",
    children: [{ name: "c", children: [{ name: "g", command: "x", conditions: [] }] }],
  });
  const cond = [{ type: "client", name: "hostname", op: "in", value: "node1,node2" }];
  assert.deepEqual((await attrs(root!, ["conditions"])).conditions, cond);
  assert.deepEqual(await attrs(child!, ["conditions", "submittedBy"]), {
    conditions: cond,
    submittedBy: "ann",
  });
  assert.deepEqual(await attrs(grandchild!, ["conditions", "submittedBy"]), {
    conditions: [],
    submittedBy: "ann",
  });
  await h.store.cascade("cancelJobs", [root!]);
});

test("deleting a finished child detaches it from a parent that stays", async () => {
  const [root, a, b] = await add({
    name: "r",
    children: [
      { name: "a", command: "x" },
      { name: "b", command: "y" },
    ],
  });
  await h.assign(a!);
  await finish(a!, 1, 1);
  assert.equal(await status(root!), "queued");
  await h.store.cascade("deleteJobs", [a!]);
  const r = await attrs(root!, ["children", "status", "overallProgress"]);
  assert.deepEqual(r.children, [b]);
  assert.equal(r.overallProgress, 0);
  await h.assign(b!);
  await finish(b!, 1);
  // The failed child is gone, so nothing holds the parent back any more.
  assert.equal(await status(root!), "succeeded");
});

test("maxTime ends in cancelled, a spawn error is retried like a failure", async () => {
  const [slow, broken] = await add([
    { name: "slow", command: "sleep 99", maxTime: 1, triesLeft: 3 },
    { name: "broken", command: "nope", triesLeft: 1 },
  ]);
  await h.assign(slow!);
  await h.store.moveToFinished(slow!, 1, 1, { exitCode: null, signal: "SIGKILL", reason: "maxTime" });
  assert.equal(await status(slow!), "cancelled");
  await h.assign(broken!);
  await h.store.moveToFinished(broken!, 1, 1, { exitCode: null, signal: null, reason: "spawnError" });
  assert.deepEqual(await attrs(broken!, ["status", "triesLeft"]), { status: "runnable", triesLeft: 0 });
  await h.store.cascade("cancelJobs", [broken!]);
});

test("a per-OS command dict is kept as a dict", async () => {
  const [id] = await add({ name: "os", command: { linux: "ls", windows: "dir" } });
  assert.deepEqual(await attrs(id!, ["command", "status"]), {
    command: { linux: "ls", windows: "dir" },
    status: "runnable",
  });
  await h.store.cascade("cancelJobs", [id!]);
});

test("rescheduling a cancelled tree reopens all of it", async () => {
  const [root, a, b] = await add({
    name: "r",
    command: "z",
    children: [
      { name: "a", command: "x" },
      { name: "b", command: "y" },
    ],
  });
  await h.store.cascade("cancelJobs", [root!]);
  assert.equal(await h.store.cascade("rescheduleJobs", [root!]), 3);
  assert.deepEqual(
    [await status(root!), await status(a!), await status(b!)],
    ["queued", "runnable", "runnable"],
  );
  assert.ok((await h.store.rootIds(false)).includes(root!));
  await h.store.cascade("cancelJobs", [root!]);
});

test("the queue's clock keeps one entry a minute past an hour, and only the newest while the queue is empty", async () => {
  const clock = h.keys.queueClock;
  const now = Date.now();
  const old = now - 2 * 3_600_000;
  await h.redis.del(clock);
  // Three minutes of entries two hours ago (one every 10 s), and a recent one.
  for (let i = 0; i < 18; i++) await h.redis.zadd(clock, old + i * 10_000, String(100 + i));
  await h.redis.zadd(clock, now - 1000, "500");
  const [job] = await add({ name: "waits", command: "x" });
  const ctx = { redis: h.redis, keys: h.keys } as unknown as Context;
  const next = await thinClock(ctx, 0, now);
  const left = await h.redis.zrange(clock, "0", "-1");
  const minutes = new Set<number>();
  for (let i = 0; i < 18; i++) minutes.add(Math.floor((old + i * 10_000) / 60_000));
  assert.equal(left.length - 2, minutes.size, "one old entry a minute, the recent one and the new job's");
  assert.ok(left.includes("117") && left.includes("500"), "each minute keeps its last entry");
  assert.ok(next <= now - 3_600_000);
  await h.store.cascade("cancelJobs", [job as number]);
  if ((await h.redis.zcard(h.keys.queue)) === 0) {
    await thinClock(ctx, next, now);
    assert.equal(await h.redis.zcard(clock), 1);
  }
});

test("a Redis without the script library (flushed, or a fresh replica promoted) gets it loaded again", async () => {
  await h.redis.function("FLUSH");
  const calls = Array.from({ length: 3 }, () => add({ name: "after-flush", command: "true" }));
  const ids = (await Promise.all(calls)).flat();
  assert.equal(ids.length, 3);
  for (const id of ids) assert.equal(await status(id), "runnable");
  const libraries = (await h.redis.function("LIST")) as unknown[];
  assert.equal(libraries.length, 1, "the one library is back");
});
