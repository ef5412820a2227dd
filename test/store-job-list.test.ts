// The dashboard's jobs list (store/job-list.ts) on a real Redis: pages read from the index sets (unfinished
// roots newest first, then finished ones by end, status sets, the queue in dispatch order), and the bounded
// scan behind a filter or sort: it filters in Redis, sorts what it found and says when it stopped early.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { parseNewJob } from "../coordinator/api/jobspec.js";
import { listJobs, type ListQuery } from "../coordinator/store/job-list.js";
import type { XmlRpcValue } from "../shared/xmlrpc/types.js";
import { startJobsHarness, type JobsHarness } from "./jobs-support.js";

let h: JobsHarness;
let ids: number[] = [];
before(async () => {
  h = await startJobsHarness();
  // 12 roots: "shot 0".."shot 11", users ann/bob/cat in turn, priority i % 4; 0..3 cancelled (finished) in
  // the order 2, 0, 3, 1, so their end times differ from their ids' order.
  const specs: XmlRpcValue[] = Array.from({ length: 12 }, (_, i) => ({
    name: `shot ${i}`,
    command: "true",
    submittedBy: ["ann", "bob", "cat"][i % 3] as string,
    priority: i % 4,
  }));
  ids = await h.store.addJobs(parseNewJob(specs, null, null));
  for (const i of [2, 0, 3, 1]) {
    await h.store.cascade("cancelJobs", [ids[i] as number]);
    await new Promise((r) => setTimeout(r, 5));
  }
});
after(async () => {
  await h.stop();
});

const list = (q: Partial<ListQuery>) =>
  listJobs(h.redis, h.keys, {
    scope: "unfinished",
    name: "",
    submitter: "",
    sort: "id",
    desc: false,
    offset: 0,
    count: 50,
    ...q,
  });
const id = (i: number) => ids[i] as number;

test("plain pages come from the index sets, in each scope's order", async () => {
  assert.deepEqual(await list({}), {
    ids: [11, 10, 9, 8, 7, 6, 5, 4].map(id),
    total: 8,
    complete: true,
  });
  assert.deepEqual((await list({ scope: "finished" })).ids, [1, 3, 0, 2].map(id), "latest end first");
  const all = await list({ scope: "all", offset: 6, count: 4 });
  assert.deepEqual(all, { ids: [5, 4, 1, 3].map(id), total: 12, complete: true }, "a page across both sets");
  assert.deepEqual((await list({ scope: "all", desc: true, count: 3 })).ids, [2, 0, 3].map(id), "reversed");
  assert.deepEqual((await list({ scope: "cancelled", count: 2 })).ids, [3, 2].map(id), "a status set");
  // The queue: higher priority first, then first come.
  assert.deepEqual((await list({ scope: "runnable" })).ids, [7, 11, 6, 10, 5, 9, 4, 8].map(id));
  assert.deepEqual(await list({ scope: "nonsense" }), { ids: [], total: 0, complete: true });
});

test("a filter or sort scans in Redis, sorts here and pages the matches", async () => {
  assert.deepEqual(await list({ scope: "all", submitter: "BO" }), {
    ids: [10, 7, 4, 1].map(id),
    total: 4,
    complete: true,
  });
  assert.deepEqual((await list({ scope: "all", name: "shot 1" })).ids, [11, 10, 1].map(id));
  const byName = await list({ scope: "all", sort: "name", offset: 1, count: 3 });
  assert.deepEqual(
    byName,
    { ids: [1, 10, 11].map(id), total: 12, complete: true },
    "shot 0, 1, 10, 11, 2...",
  );
  const byPriority = await list({ sort: "priority", desc: true, submitter: "ann" });
  assert.deepEqual(byPriority.ids, [6, 9].map(id), "priority 2 then 1; equal ones newest first");
});

test("the scan stops at its limit and says so", async () => {
  const cut = await list({ scope: "all", submitter: "a", scanLimit: 5 });
  assert.deepEqual(
    cut,
    { ids: [11, 9, 8].map(id), total: 3, complete: false },
    "cat, ann, cat of the first 5",
  );
  // Exactly at the end of the unfinished set: the finished set is still to come.
  assert.equal((await list({ scope: "all", name: "shot", scanLimit: 8 })).complete, false);
  assert.equal((await list({ name: "shot", scanLimit: 8 })).complete, true);
});
