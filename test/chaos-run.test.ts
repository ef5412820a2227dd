// The short chaos run (scripts/chaos.ts): a real farm (Sentinel-managed Redis pair, 2 coordinators, 4
// agents behind proxies) under a stream of job trees for 45 s of random faults, at least 5 however slow the
// machine (the soak is `npm run chaos -- --minutes 30`), then
// checked: nothing lost, duplicated, stuck or left running, no render failed by a lost blade, store
// invariants intact.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { moduleArgs } from "./support/programs.js";

test("a short chaos run loses, duplicates and strands nothing", async () => {
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolve) => {
      const child = execFile(
        process.execPath,
        [
          ...moduleArgs("scripts/chaos"),
          "--minutes",
          "0.75",
          "--rate",
          "1.5",
          "--gap-ms",
          "1000-3000",
          "--min-faults",
          "5",
        ],
        { timeout: 540_000, maxBuffer: 64 << 20 },
        (_err, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
      );
    },
  );
  const summary = stdout.trim().split("\n").at(-1) ?? "";
  assert.match(
    summary,
    /^faults \d+, jobs \d+, lost 0, duplicated 0, stuck 0, renders failed by machine loss 0$/,
    stderr.slice(-8000),
  );
  assert.equal(code, 0, stderr.slice(-8000));
  const faults = Number(/^faults (\d+)/.exec(summary)?.[1]);
  assert.ok(faults >= 5, summary);
});
