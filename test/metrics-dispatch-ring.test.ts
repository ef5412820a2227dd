// Metrics.msSinceDispatches, what the notice sender asks before it delivers (notices/sender.ts): the time since
// the 100th-last dispatch of this process, from a ring of the last 100 dispatch times, past its wrap.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Metrics } from "../coordinator/metrics.js";
import type { Context } from "../coordinator/context.js";

// jobDispatched and msSinceDispatches read nothing of the context (the scrape does).
const metrics = (): Metrics => new Metrics({} as Context);

test("fewer than 100 dispatches: never busy, however fast", () => {
  const m = metrics();
  for (let i = 0; i < 99; i++) m.jobDispatched({ id: String(i), queueTime: "0" }, 1000);
  assert.equal(m.msSinceDispatches(1000), Infinity);
  m.jobDispatched({ id: "99", queueTime: "0" }, 1000);
  assert.equal(m.msSinceDispatches(1010), 10);
});

test("past the ring's wrap it is the time since the 100th-last dispatch", () => {
  const m = metrics();
  // 350 dispatches, one every 10 ms: the 100th-last is number 250, at 2,500 ms.
  for (let i = 0; i < 350; i++) m.jobDispatched({ id: String(i), queueTime: "0" }, i * 10);
  assert.equal(m.msSinceDispatches(3500), 1000);
  // A lull: a late dispatch moves it on by one place only.
  m.jobDispatched({ id: "350", queueTime: "0" }, 60_000);
  assert.equal(m.msSinceDispatches(60_000), 60_000 - 2510);
});
