// The precise waiting reason of a job whose group exists and has blades that could run it, none free now
// (issue 20 item 4): "no blade in group lighting is available (3 busy, 1 disabled)", through a real
// coordinator, Redis, agent-protocol peers and Python's xmlrpc.client; and the generic text again once one
// of them is free.

import { test } from "node:test";
import assert from "node:assert/strict";
import { useCoordinator, usePeers } from "./support/coordinator-fixture.js";
import { py } from "./support/farm-kit.js";
import { eventually } from "./support/eventually.js";

const farm = useCoordinator({ env: { OPENHQ_HEARTBEAT_INTERVAL: "200" } });
const connect = usePeers(() => ({ serverUrl: farm.url }));

const waitingFor = (id: number) =>
  py<string>(farm.url, `out(hq.getJob(${id}, ["waitingFor"])["waitingFor"])`);

test("a job waits on its group's busy and disabled blades, counted", async () => {
  const peers = await Promise.all(
    [1, 2, 3, 4].map((i) => connect({ hostname: `light${i}`, cpus: 1, mode: "hold" })),
  );
  await connect({ hostname: "comp1", cpus: 8, mode: "hold" });
  await py(
    farm.url,
    `
g = hq.createClientGroup("lighting")
for i in range(1, 5):
    hq.addClientToGroup(g, hq.getClientByHostname("light%d" % i, ["id"])["id"])
hq.setdisabled("light4", True)
out(0)`,
  );
  const busy = await py<number[]>(
    farm.url,
    `out(hq.newjob([{"name": "lit", "command": "x", "hostgroup": "lighting"}] * 3))`,
  );
  await eventually(
    "three blades of the group busy",
    async () => (peers.slice(0, 3).every((p) => p.running.size === 1) ? true : undefined),
    20_000,
    100,
  );
  const [late] = await py<number[]>(
    farm.url,
    `out(hq.newjob({"name": "late", "command": "x", "hostgroup": "lighting"}))`,
  );
  const text = await eventually(
    "the counted reason",
    async () => {
      const t = await waitingFor(late as number);
      return t.startsWith("no blade in group lighting") ? t : undefined;
    },
    30_000,
    300,
  );
  assert.equal(text, "no blade in group lighting is available (3 busy, 1 disabled)");

  // One finishes: the late job runs there.
  const held = peers[0]?.running.keys().next().value as number;
  assert.ok(busy.includes(held));
  peers[0]?.finish(held);
  await eventually(
    "the late job runs on the freed blade",
    async () => (peers[0]?.running.has(late as number) ? true : undefined),
    20_000,
    100,
  );
});
