// The agent link's memory of the attempts it sent (coordinator/link/connection.ts `sentAssigns`) past its
// bound, on a real coordinator with `openhq.link.sentAssigns` lowered to 2 and a protocol peer as the agent:
// the third assign drops the first one sent, so that attempt's events go through the check in Redis that the
// client holds the job (a SISMEMBER seen with MONITOR) and still apply; the attempts remembered skip it; an
// event of an attempt the job no longer has is refused whichever way it came.

import { test } from "node:test";
import assert from "node:assert/strict";
import { HQServer } from "../shared/client/index.js";
import { useCoordinator, usePeers } from "./support/coordinator-fixture.js";
import { eventually } from "./support/eventually.js";

const farm = useCoordinator({
  env: { OPENHQ_LINK_SENT_ASSIGNS: "2", OPENHQ_HEARTBEAT_INTERVAL: "200" },
});
const peer = usePeers(() => ({ serverUrl: farm.url }));

test("past openhq.link.sentAssigns the oldest attempt goes: its events are checked in Redis and still apply", async (t) => {
  const hq = new HQServer(farm.url);
  t.after(() => hq.rpc.close());
  const agent = await peer({ hostname: "blade", cpus: 3, mode: "hold" });
  const clientJobs = farm.keys.clientJobs(agent.clientId);
  // One at a time, so the assigns are sent in this order: a, then b, then c (which drops a).
  const ids: number[] = [];
  for (const name of ["a", "b", "c"]) {
    const [id] = await hq.newjob({ name, command: "true" });
    assert.ok(id !== undefined);
    await agent.waitFor(() => agent.running.has(id));
    ids.push(id);
  }
  const [a, b, c] = ids as [number, number, number];

  // Which jobs the coordinator checked with SISMEMBER {p}client:{id}:jobs while the events were applied.
  const monitor = await farm.redis.monitor();
  t.after(() => monitor.disconnect());
  const checked = new Set<number>();
  monitor.on("monitor", (_time: string, args: string[]) => {
    if (args[0]?.toLowerCase() === "sismember" && args[1] === clientJobs) checked.add(Number(args[2]));
  });
  const progressOf = async (id: number) => (await hq.getJob(id, ["progress"])).progress;
  for (const id of [a, b, c]) agent.progress(id, 0.5);
  await eventually("the three progress events are stored", async () => {
    const all = await Promise.all([a, b, c].map(progressOf));
    return all.every((p) => p === 0.5);
  });
  assert.deepEqual([...checked], [a], "only the attempt dropped from the link's memory is checked in Redis");

  // The dropped attempt's output and finish apply as any other's: the job succeeds with its output.
  agent.output(a, "frame a done\n");
  agent.finish(a);
  await eventually(
    "job a succeeds",
    async () =>
      (await farm.py<{ status: string }>(`out(hq.getJob(${a}, ["status"]))`)).status === "succeeded",
  );
  assert.match(await hq.getJobOutput(a), /frame a done/);

  // An event of an attempt job b never had (attempt 9) is refused: the job's progress and status stay.
  agent.send({ type: "progress", jobId: b, attempt: 9, seq: 1, progress: 0.9 });
  agent.send({ type: "finished", jobId: c, attempt: 9, seq: 1, exitCode: 1, signal: null, reason: "exited" });
  agent.progress(c, 0.75);
  await eventually("c's own progress is stored", async () => (await progressOf(c)) === 0.75);
  assert.equal(await progressOf(b), 0.5);
  const statuses = await Promise.all([b, c].map(async (id) => (await hq.getJob(id, ["status"])).status));
  assert.deepEqual(statuses, ["running", "running"]);
  for (const id of [b, c]) agent.finish(id);
});
