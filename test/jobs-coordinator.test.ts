// The job API end to end through a real coordinator process and Python's xmlrpc.client: a tree submitted the
// way Houdini's submitters do, run by hand through the store's transitions (no agents here), then queried.

import { test } from "node:test";
import assert from "node:assert/strict";
import { JobStore } from "../coordinator/store/jobs.js";
import { runScript } from "../coordinator/store/lua-scripts.js";
import { testLogs } from "./support/context.js";
import { useCoordinator } from "./support/coordinator-fixture.js";

const farm = useCoordinator();

test("a submitted tree runs to success and reads back through the coordinator", async (t) => {
  const { redis, coordinator } = farm;
  const ids = await farm.py<number[]>(
    `out(hq.newjob({"name": "render", "priority": 3, "submittedBy": "ann", "children": [
          {"name": "frame 1", "command": "echo 1", "environment": {"F": "1"}},
          {"name": "frame 2", "command": "echo 2"}]}))`,
  );
  assert.equal(ids.length, 3);
  const [root, ...frames] = ids as [number, number, number];
  // The test's own store writes output beside the coordinator's, in the farm's one log folder.
  const logs = await testLogs(redis, farm.keys, { dir: coordinator.jobLogsDir });
  t.after(() => logs.stop());
  const store = new JobStore({ redis, keys: farm.keys, settings: { maxOutputBytes: 1 << 20 }, logs });
  await redis.hset(coordinator.keys.client(424242), "hostname", "blade7", "cpus", "64");
  for (const id of frames) {
    const reply = (await runScript(redis, coordinator.prefix, "moveToAssigned", [id, 424242])) as unknown[];
    assert.equal(reply[0], "assigned");
    assert.equal(await store.appendOutput(id, 1, 1, `frame ${id} done\n`), "ok");
    assert.equal(await store.moveToFinished(id, 1, 2, { exitCode: 0, signal: null, reason: "exited" }), "ok");
  }
  const r = await farm.py<Record<string, unknown>>(
    `
root, f1 = ${root}, ${frames[0]}
out({"root": hq.getJob(root, ["status", "uiStatus", "overallProgress", "submittedBy", "children"]),
     "frame": hq.getJob(f1, ["status", "clients", "submittedBy", "progress", "environment"]),
     "output": hq.getJobOutput(f1), "finished": root in hq.getFinishedRootJobIds(),
     "succeeded": hq.getJobIdsByStatus("succeeded")})
`,
  );
  assert.deepEqual(r.root, {
    status: "succeeded",
    uiStatus: "succeeded",
    overallProgress: 1,
    submittedBy: "ann",
    children: frames,
  });
  assert.deepEqual(r.frame, {
    status: "succeeded",
    clients: [{ hostname: "blade7", clientId: 424242, master: true }],
    submittedBy: "ann",
    progress: 1,
    environment: { F: "1" },
  });
  assert.equal(r.output, `frame ${frames[0]} done\n`);
  assert.equal(r.finished, true);
  assert.deepEqual(r.succeeded, ids);
});
