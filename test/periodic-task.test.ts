// The coordinator's background chores' timer (coordinator/periodic-task.ts): runs at once or later, never two
// runs at once, a failure reported, stop() waits for the run in progress.

import assert from "node:assert/strict";
import { test } from "node:test";
import { PeriodicTask } from "../coordinator/periodic-task.js";
import { eventually } from "./support/eventually.js";

test("runs at once and again, never overlapping; a failure is reported; stop() waits for the run under way", async () => {
  let runs = 0;
  let open = 0;
  let most = 0;
  const errors: string[] = [];
  let release: () => void = () => undefined;
  const task = new PeriodicTask(
    async () => {
      runs++;
      open++;
      most = Math.max(most, open);
      // The third run fails; the fourth holds until released, while ticks keep coming every 1 ms.
      if (runs === 4) await new Promise<void>((r) => (release = r));
      open--;
      if (runs === 3) throw new Error("disk full");
    },
    (err) => errors.push(err.message),
    1,
    0,
  );
  task.start();
  assert.equal(runs, 1, "the first run starts at once");
  await eventually("the fourth run", () => runs === 4);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(runs, 4, "no run starts while one is under way");
  let stopped = false;
  const stopping = task.stop().then(() => (stopped = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(stopped, false, "stop() waits for the run under way");
  release();
  await stopping;
  assert.equal(most, 1);
  assert.deepEqual(errors, ["disk full"]);
});
