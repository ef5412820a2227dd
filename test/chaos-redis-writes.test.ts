// No acknowledgement without durable storage: Redis refuses every write (maxmemory 1, noeviction) for 2.5 s
// while a real agent streams a 40-line job. The coordinator must neither apply past the failed batch nor
// ack it; it retries until Redis takes writes again, so the output is complete and `finished` lands.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { startAgent } from "./support/agent.js";
import { startCoordinator } from "./support/coordinator.js";
import { py, waitFinished, waitJob } from "./support/farm-kit.js";

test("Redis refusing writes for 2.5 s during a 40-line job: output complete, job finishes", async () => {
  const coord = await startCoordinator({ env: { OPENHQ_HEARTBEAT_INTERVAL: "500" } });
  const agent = await startAgent({ serverUrl: coord.url, name: "writer", cpus: 2 });
  const redis = new Redis(coord.redisUrl);
  try {
    // The second job finishes while Redis refuses writes: its `finished` must not be lost.
    const [id, short] = (await py<number[]>(
      coord.url,
      `out(hq.newjob([{"name": "forty lines", "shell": "bash",
        "command": "for i in $(seq 1 40); do echo line $i; sleep 0.1; done"},
        {"name": "ends in the outage", "shell": "bash", "command": "sleep 1.5; echo end"}]))`,
    )) as [number, number];
    await waitJob(coord.url, id, ["status"], `"line 8\\n" in hq.getJobOutput(${id})`, 60);
    await redis.config("SET", "maxmemory", "1");
    const outageEnds = Date.now() + 2500;
    // Reads still answer while Redis refuses writes (the read scripts are flagged no-writes).
    const during = await py<[string, boolean]>(
      coord.url,
      `out([hq.getJob(${id})["status"], "line 8\\n" in hq.getJobOutput(${id})])`,
    );
    assert.deepEqual(during, ["running", true]);
    await new Promise((r) => setTimeout(r, Math.max(0, outageEnds - Date.now())));
    await redis.config("SET", "maxmemory", "0");
    const done = await waitFinished(coord.url, [id, short], 60);
    assert.deepEqual(done, { [id]: "succeeded", [short]: "succeeded" });
    assert.equal(await py<string>(coord.url, `out(hq.getJobOutput(${short}))`), "end\n");
    const output = await py<string>(coord.url, `out(hq.getJobOutput(${id}))`);
    const expected = Array.from({ length: 40 }, (_, i) => `line ${i + 1}\n`).join("");
    assert.equal(output, expected);
  } finally {
    await redis.config("SET", "maxmemory", "0").catch(() => {});
    redis.disconnect();
    await agent.stop();
    await coord.stop();
  }
});
