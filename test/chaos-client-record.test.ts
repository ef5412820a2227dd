// A client record that lost its registration in Redis (a failover promoted a replica that had not yet got the
// agent's hello) must not be rebuilt by heartbeats alone: such a record has no hostname, cpus or platform, so
// no job could ever run on that agent again. The coordinator closes the link, the agent says hello again,
// and jobs run on it.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { startAgent } from "./support/agent.js";
import { startCoordinator } from "./support/coordinator.js";
import { py, waitFinished } from "./support/farm-kit.js";

test("an agent whose client record Redis lost registers again and runs jobs", async () => {
  const coord = await startCoordinator({ env: { OPENHQ_HEARTBEAT_INTERVAL: "500" } });
  const agent = await startAgent({ serverUrl: coord.url, name: "amnesia" });
  const redis = new Redis(coord.redisUrl);
  try {
    const label = "amnesia";
    const byLabel = async () => {
      const labels = await redis.hgetall(`${coord.prefix}clients:byLabel`);
      return Object.entries(labels).find(([l]) => l.endsWith(`:${label}`));
    };
    for (let i = 0; i < 100 && (await byLabel()) === undefined; i++)
      await new Promise((r) => setTimeout(r, 100));
    const entry = await byLabel();
    assert.ok(entry, "the agent registered");
    // What a failover to a replica without the hello's writes leaves: no record, no label, no client entry.
    await redis
      .multi()
      .del(`${coord.prefix}client:${entry[1]}`)
      .hdel(`${coord.prefix}clients:byLabel`, entry[0])
      .zrem(`${coord.prefix}clients`, entry[1])
      .exec();
    const [id] = await py<number[]>(
      coord.url,
      `out(hq.newjob({"name": "after", "shell": "bash", "command": "echo ran"}))`,
    );
    assert.deepEqual(await waitFinished(coord.url, [id as number], 30), { [id as number]: "succeeded" });
    const clients = await py<{ hostname: string; name: string; cpus: number }[]>(
      coord.url,
      `out(hq.getClients())`,
    );
    const back = clients.find((c) => c.name === label);
    assert.ok(back !== undefined && back.hostname !== "" && back.cpus >= 1, JSON.stringify(clients));
  } finally {
    redis.disconnect();
    await agent.stop();
    await coord.stop();
  }
});
