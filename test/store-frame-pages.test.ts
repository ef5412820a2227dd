// The frame table's bounded reads (store/job-frames.ts) on a real Redis: a page of a parent's children from
// its index (readKidsPage.lua, a union of statuses paged by bisection, both directions) equals the page cut
// from the full sorted list; the numeric sorts done inside Redis chunk by chunk (readFrameOrder.lua) give the
// order selectFrames gives over every row, and so does a page by duration from the duration index that real
// transitions keep, and so do a parent's run seconds for the render-time chart; and the failures panel follows
// real failures and a requeue.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { parseNewJob } from "../coordinator/api/jobspec.js";
import type { Context } from "../coordinator/context.js";
import {
  childSeconds,
  durationPage,
  frameOrder,
  NUMERIC_FRAME_SORTS,
  readFrames,
  readKidsPage,
} from "../coordinator/store/job-frames.js";
import { renderTimeChart } from "../coordinator/web/charts.js";
import { frameSeconds, selectFrames } from "../coordinator/web/frames.js";
import { JOB_STATUSES } from "../shared/statuses.js";
import type { XmlRpcValue } from "../shared/xmlrpc/types.js";
import { testContext } from "./support/context.js";
import { startJobsHarness, type JobsHarness } from "./jobs-support.js";
import { rng } from "./support/rng.js";

let h: JobsHarness;
let ctx: Context;
before(async () => {
  h = await startJobsHarness({ maxOutputBytes: 256 });
  ctx = await testContext(h.redis, h.keys, {}, h.logs);
});
after(async () => {
  await h.stop();
});

/** A parent `name` with `children`: its id and theirs, in order. */
async function addFamily(name: string, children: XmlRpcValue[]): Promise<{ parent: number; kids: number[] }> {
  const [parent, ...kids] = (await h.store.addJobs(parseNewJob({ name, children }, null, null))) as [
    number,
    ...number[],
  ];
  return { parent, kids };
}

/**
 * Runs the first `ran` of `kids` through the real transitions, every fourth after a pause of spreadMs × its
 * place (spread run times), and finishes the first `finished` of them, every third failing.
 */
async function runFirst(kids: number[], ran: number, finished: number, spreadMs: number): Promise<void> {
  for (const [i, id] of kids.slice(0, ran).entries()) {
    const attempt = await h.assign(id);
    if (i % 4 === 0) await new Promise((r) => setTimeout(r, spreadMs * i));
    if (i < finished)
      await h.store.moveToFinished(id, attempt, await h.nextSeq(id, attempt), {
        exitCode: i % 3 === 0 ? 1 : 0,
        signal: null,
        reason: "exited",
      });
  }
}

test("a page of a union of statuses, by id up and down, is the page of the whole sorted list", async () => {
  // The index alone (no jobs behind it): 2,500 ids spread over the statuses, with gaps.
  const parent = 990_001;
  const random = rng(7);
  const byStatus = new Map<string, number[]>();
  for (let id = 10; id < 7_510; id += 1 + Math.floor(random() * 4)) {
    const s = JOB_STATUSES[Math.floor(random() * JOB_STATUSES.length)] as string;
    byStatus.set(s, [...(byStatus.get(s) ?? []), id]);
  }
  for (const [s, ids] of byStatus)
    await h.redis.zadd(h.keys.jobKids(parent, s), ...ids.flatMap((id) => [id, id]));
  for (const statuses of [[], ["failed", "cancelled", "abandoned"], ["runnable"], ["queued", "succeeded"]]) {
    const all = (statuses.length === 0 ? [...byStatus.values()] : statuses.map((s) => byStatus.get(s) ?? []))
      .flat()
      .sort((a, b) => a - b);
    for (const desc of [false, true]) {
      const ordered = desc ? [...all].reverse() : all;
      for (const [offset, count] of [
        [0, 100],
        [100, 100],
        [all.length - 50, 100],
        [Math.floor(all.length / 3), 250],
        [all.length, 100],
      ] as [number, number][]) {
        const page = await readKidsPage(ctx, parent, {
          statuses,
          failure: "",
          desc,
          offset,
          count,
          groups: 0,
        });
        assert.equal(page.total, all.length);
        assert.deepEqual(page.ids, ordered.slice(offset, offset + count), `${statuses} ${desc} ${offset}`);
      }
    }
  }
});

test("numeric sorts inside Redis, chunk by chunk, give selectFrames' order", async () => {
  const random = rng(11);
  const ids = await h.store.addJobs(
    parseNewJob(
      {
        name: "order parent",
        children: Array.from({ length: 2_300 }, (_, i) => ({ name: `f${i}`, command: "true" })),
      },
      null,
      null,
    ),
  );
  const kids = ids.slice(1);
  const now = Date.now();
  const write = h.redis.pipeline();
  for (const id of kids) {
    // Never started, running (some paused), finished with or without an endTime, equal values for ties.
    const roll = random();
    const fields: (string | number)[] = [
      "progress",
      Math.floor(random() * 4) / 4,
      "attempt",
      Math.floor(random() * 3),
    ];
    if (roll > 0.2) fields.push("startTime", now - 1000 * Math.floor(random() * 50));
    if (roll > 0.5) fields.push("status", "succeeded", "endTime", now - 1000 * Math.floor(random() * 5));
    else if (roll > 0.45) fields.push("status", "failed");
    if (random() < 0.2) fields.push("pausedMs", 1000 * Math.floor(random() * 5), "pausedAt", now - 3000);
    write.hset(h.keys.job(id), ...fields);
  }
  await write.exec();
  const frames = await readFrames(ctx, kids);
  for (const sort of NUMERIC_FRAME_SORTS) {
    for (const desc of [false, true]) {
      const q = { status: "", error: "", sort, desc, page: 1, per: 100 };
      const truth = selectFrames(frames, q, new Map(), now).map((f) => f.id);
      for (const k of [100, 1_500]) {
        const got = await frameOrder(ctx, kids, sort, desc, k, now);
        assert.equal(got.found, kids.length);
        assert.deepEqual(got.ids, truth.slice(0, k), `${sort} ${desc ? "desc" : "asc"} first ${k}`);
      }
    }
  }
});

test("the failures panel counts real failures by message and forgets a requeued frame", async () => {
  const { parent, kids } = await addFamily(
    "failing parent",
    Array.from({ length: 5 }, (_, i) => ({ name: `f${i}`, command: "run", triesLeft: 0 })),
  );
  // Three fail with their exit code only, one with a texture error on its last line, one succeeds.
  for (const [i, id] of kids.entries()) {
    const attempt = await h.assign(id);
    if (i === 3)
      await h.store.appendOutput(
        id,
        attempt,
        await h.nextSeq(id, attempt),
        "missing texture /t/wall_12.exr\n",
      );
    await h.store.moveToFinished(id, attempt, await h.nextSeq(id, attempt), {
      exitCode: i === 4 ? 0 : 3,
      signal: null,
      reason: "exited",
    });
  }
  const panel = async () => {
    const page = await readKidsPage(ctx, parent, {
      statuses: [],
      failure: "exited with code N",
      desc: false,
      offset: 0,
      count: 10,
      groups: 10,
    });
    return { failures: page.failures, ids: page.ids, failed: page.counts.get("failed") };
  };
  const texture = { message: "missing texture <path>", count: 1, example: "missing texture /t/wall_12.exr" };
  assert.deepEqual(await panel(), {
    failures: [{ message: "exited with code N", count: 3, example: "exited with code 3" }, texture],
    ids: [kids[0], kids[1], kids[2]],
    failed: 4,
  });
  await h.store.cascade("rescheduleJobs", [kids[0] as number]);
  assert.deepEqual(await panel(), {
    failures: [{ message: "exited with code N", count: 2, example: "exited with code 3" }, texture],
    ids: [kids[1], kids[2]],
    failed: 3,
  });
});

test("sorted by duration from the duration index: the page selectFrames cuts from every row", async () => {
  const { parent, kids } = await addFamily(
    "timed parent",
    Array.from({ length: 40 }, (_, i) => ({ name: `f${i}`, command: "run", triesLeft: 0 })),
  );
  const page = async (desc: boolean, offset: number, count: number) =>
    durationPage(ctx, parent, desc, offset, count, Date.now());
  // Nothing has run: no child has a duration, and the order is the children's.
  assert.deepEqual(await page(true, 10, 5), kids.slice(10, 15));
  // 30 run through the real transitions (quick ones tie to the ms), 25 finish, one of them is rescheduled
  // after it ran; 5 stay running; 10 never start (one cancelled).
  await runFirst(kids, 30, 25, 3);
  await h.store.cascade("rescheduleJobs", [kids[2] as number]);
  await h.store.cascade("cancelJobs", [kids[35] as number]);
  const now = Date.now();
  const frames = await readFrames(ctx, kids);
  for (const desc of [false, true]) {
    const q = { status: "", error: "", sort: "duration", desc, page: 1, per: 10 };
    const truth = selectFrames(frames, q, new Map(), now).map((f) => f.id);
    for (const [offset, count] of [
      [0, 10],
      [10, 10],
      [20, 10],
      [7, 13],
    ] as [number, number][])
      assert.deepEqual(
        await durationPage(ctx, parent, desc, offset, count, now),
        truth.slice(offset, offset + count),
        `${desc ? "desc" : "asc"} ${offset}+${count}`,
      );
    // Past the children that ran, the caller reads every child.
    assert.equal(await durationPage(ctx, parent, desc, 25, 10, now), null);
  }
});

test("a parent's run seconds from the duration index are frameSeconds over every row; the render-time chart draws them", async () => {
  const { parent, kids } = await addFamily(
    "charted parent",
    Array.from({ length: 24 }, (_, i) => ({ name: `c${i}`, command: "run", triesLeft: 0 })),
  );
  // 18 run through the real transitions: 14 finish (every third failing), one of them is rescheduled after
  // it ran; 4 stay running; 6 never start (one cancelled).
  await runFirst(kids, 18, 14, 5);
  await h.store.cascade("rescheduleJobs", [kids[2] as number]);
  await h.store.cascade("cancelJobs", [kids[20] as number]);
  const now = Date.now() + 1_000;
  const truth = (await readFrames(ctx, kids)).map((f) => frameSeconds(f, now));
  assert.ok(truth.filter(Number.isFinite).length >= 15, JSON.stringify(truth));
  assert.deepEqual(await childSeconds(ctx, parent, kids, now), truth);

  // One bar per child, valued as frameSeconds; a failed frame red, named in its tooltip.
  const svg = (await renderTimeChart(ctx, parent, now)).text;
  const values = /data-v="([^"]*)"/.exec(svg)?.[1]?.split(",") ?? [];
  assert.deepEqual(
    values,
    truth.map((s) => (Number.isFinite(s) ? s.toFixed(1) : "")),
  );
  assert.match(svg, new RegExp(`fill="#c62828"\\s*><title>c3 \\(job ${kids[3]}\\):`));
});

test("the render-time chart of more frames than bars: each bar the slowest of its bin, past frames that never ran", async () => {
  // 1,201 children: 401 bars of 3 (the last of 1).
  const { parent, kids } = await addFamily(
    "binned parent",
    Array.from({ length: 1_201 }, (_, i) => ({ name: `b${i}`, command: "run" })),
  );
  // The second frame of bar 0 and of bar 1 run; nothing else does.
  for (const id of [kids[1], kids[4]] as number[]) {
    const attempt = await h.assign(id);
    await h.store.moveToFinished(id, attempt, await h.nextSeq(id, attempt), {
      exitCode: 0,
      signal: null,
      reason: "exited",
    });
  }
  const svg = (await renderTimeChart(ctx, parent)).text;
  const values = /data-v="([^"]*)"/.exec(svg)?.[1]?.split(",") ?? [];
  assert.equal(values.length, 401);
  assert.ok(
    values.slice(0, 2).every((v) => v !== ""),
    values.slice(0, 3).join(","),
  );
  assert.ok(values.slice(2).every((v) => v === ""));
  assert.match(svg, /<title>frames 1–3, slowest b1: /);
  assert.match(svg, /<title>frames 4–6, slowest b4: /);
});
