// The coordinator's parts start in order and stop in reverse (coordinator/lifecycle.ts); a part that fails to
// start stops the ones already started, and one that fails to stop does not keep the rest running.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Lifecycle, type Service } from "../coordinator/lifecycle.js";

function part(name: string, seen: string[], fail?: "start" | "stop"): readonly [string, Service] {
  return [
    name,
    {
      async start() {
        await new Promise((r) => setImmediate(r));
        if (fail === "start") throw new Error("port taken");
        seen.push(`start ${name}`);
      },
      stop() {
        seen.push(`stop ${name}`);
        if (fail === "stop") throw new Error("stuck");
      },
    },
  ];
}

test("parts start in order and stop in reverse; a failed stop is logged and the others still stop", async () => {
  const seen: string[] = [];
  const logged: string[] = [];
  const lifecycle = new Lifecycle((line) => logged.push(line));
  await lifecycle.start([part("logs", seen), part("link", seen, "stop"), part("listener", seen)]);
  await lifecycle.stop();
  assert.deepEqual(seen, [
    "start logs",
    "start link",
    "start listener",
    "stop listener",
    "stop link",
    "stop logs",
  ]);
  assert.deepEqual(logged, ["link: stopping failed: stuck"]);
  await lifecycle.stop();
  assert.equal(seen.length, 6, "a second stop stops nothing again");
});

test("a part that fails to start stops those started before it, and its error names it", async () => {
  const seen: string[] = [];
  const lifecycle = new Lifecycle(() => {});
  await assert.rejects(
    lifecycle.start([
      part("logs", seen),
      part("scheduler", seen),
      part("listener", seen, "start"),
      part("late", seen),
    ]),
    /^Error: listener: port taken$/,
  );
  assert.deepEqual(seen, ["start logs", "start scheduler", "stop scheduler", "stop logs"]);
});
