// Waiting reasons deep in the queue: a job behind more blocked work than the head sweep reads (600 jobs
// ahead of it, the sweep reads 500) still says why it waits, as clients register and groups change; a job
// whose conditions change says so at once.

import { test } from "node:test";
import assert from "node:assert/strict";
import { useCoordinator, usePeers } from "./support/coordinator-fixture.js";
import { py } from "./support/farm-kit.js";
import { eventually } from "./support/eventually.js";

// Maintenance rounds every 300 ms, not 3 s: the walks below take several rounds.
const farm = useCoordinator({
  env: { OPENHQ_HEARTBEAT_INTERVAL: "200", OPENHQ_DISPATCH_MAINTENANCE_MS: "300", ...walkEnv() },
});
const connect = usePeers(() => ({ serverUrl: farm.url }));

/** OPENHQ_REASONS_WALK=n runs it with that many jobs walked a round (scheduler-reasons-paged.test.ts). */
function walkEnv(): Record<string, string> {
  const walk = process.env.OPENHQ_REASONS_WALK;
  return walk ? { OPENHQ_REASONS_WALK: walk } : {};
}

interface Reason {
  waitingFor: string;
  showBlockedClientsWarning: boolean;
}

const reason = (id: number) =>
  py<Reason>(farm.url, `out(hq.getJob(${id}, ["waitingFor", "showBlockedClientsWarning"]))`);

/** Waits (a few maintenance rounds at most) until job `id` shows the warning or not. */
async function warned(id: number, want: boolean): Promise<Reason> {
  return eventually(
    `job ${id} warning ${want}`,
    async () => {
      const r = await reason(id);
      return r.showBlockedClientsWarning === want ? r : undefined;
    },
    30_000,
    500,
  );
}

test("a job 600 deep gets and loses the warning as its only capable client's group changes", async () => {
  // Submitted before any client registered: nothing is marked at submit.
  const ids = await py<number[]>(
    farm.url,
    `
ahead = hq.newjob([{"name": "nowhere", "command": "x", "priority": 9, "hostgroup": "nowhere"}] * 600)
[deep, other] = hq.newjob([{"name": "deep", "command": "x", "priority": 1, "hostgroup": "gpu"},
                           {"name": "other", "command": "x", "priority": 1, "hostgroup": "sim"}])
out([deep, other])`,
  );
  const [deep, other] = ids as [number, number];
  assert.equal((await reason(deep)).showBlockedClientsWarning, false);

  // A client that can run neither registers: both get the warning, though the head sweep never reads them.
  const peer = await connect({ hostname: "reasonhost", cpus: 2, mode: "hold" });
  await py(farm.url, `out(hq.setdisabled("reasonhost", True))`);
  const blocked = await warned(deep, true);
  assert.equal(blocked.waitingFor, "no blade is in group gpu");
  await warned(other, true);

  // It joins "gpu": the deep job could run on it now (it is disabled, so the job stays queued).
  const gpu = await py<number>(
    farm.url,
    `
g = hq.createClientGroup("gpu")
hq.addClientToGroup(g, hq.getClientByHostname("reasonhost", ["id"])["id"])
out(g)`,
  );
  const cleared = await warned(deep, false);
  assert.equal(cleared.waitingFor, "waiting for a free client");
  assert.equal((await reason(other)).showBlockedClientsWarning, true);

  // It leaves the group: no registered client can run the deep job again.
  await py(
    farm.url,
    `out(hq.removeClientFromGroup(${gpu}, hq.getClientByHostname("reasonhost", ["id"])["id"]))`,
  );
  await warned(deep, true);

  // savePermittedClientsList moves a queued job to another class, the second job to one already judged:
  // each says at once whether its new conditions could run anywhere.
  const pair = await py<[Reason, Reason, Reason]>(
    farm.url,
    `
[a, b] = hq.newjob([{"name": "ab", "command": "x", "hostgroup": "sim"}] * 2)
attribs = ["waitingFor", "showBlockedClientsWarning"]
before = hq.getJob(b, attribs)
hq.savePermittedClientsList(a, ["reasonhost"])
hq.savePermittedClientsList(b, ["reasonhost"])
out([before, hq.getJob(a, attribs), hq.getJob(b, attribs)])`,
  );
  assert.deepEqual(
    pair.map((r) => r.showBlockedClientsWarning),
    [true, false, false],
  );
  peer.close();
});
