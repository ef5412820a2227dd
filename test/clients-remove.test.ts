// Issue 22, machine lifecycle: removeClients / `openhq remove` take a machine out of the farm for good. A
// real coordinator and Redis; protocol peers play the blades. The record is gone, the removed agent's
// credential is refused, its running frame goes back to the queue and runs elsewhere, its group forgets it,
// and the same hostname can come back only as a new machine (no credential, a new id).

import { test } from "node:test";
import assert from "node:assert/strict";
import { execa } from "execa";
import { useCoordinator, usePeers } from "./support/coordinator-fixture.js";
import { programArgs } from "./support/programs.js";

const farm = useCoordinator({ env: { OPENHQ_HEARTBEAT_INTERVAL: "200" } });
const peer = usePeers(() => ({ serverUrl: farm.url, mode: "hold" }));
const py = <T>(code: string): Promise<T> => farm.py<T>(code);

const cli = (...args: string[]) =>
  execa(process.execPath, [...programArgs("cli"), "--server", farm.url, ...args], {
    reject: false,
  });

/** The clients /metrics counts, over every state. */
async function clientsCounted(): Promise<number> {
  const text = await (await fetch(`${farm.url}/metrics`)).text();
  return [...text.matchAll(/^openhq_clients\{state="\w+"\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

test("removeClients: record gone, credential refused, running frame requeued, group forgets it", async () => {
  const doomed = await peer({ hostname: "doomed" });
  const id = doomed.clientId;
  const credential = doomed.welcome?.credential;
  assert.ok(credential);
  const [jobId] = await py<number[]>(
    `g = hq.createClientGroup("render")\nhq.addClientToGroup(g, ${id})\nout(hq.newjob({"name": "frame", "command": "true", "triesLeft": 1}))`,
  );
  await doomed.waitFor(() => doomed.running.has(jobId as number));

  const countedBefore = await clientsCounted();
  assert.deepEqual(await py<number[]>(`out(hq.removeClients([${id}]))`), [id]);
  // Alerts (deploy/monitoring: openhq_clients{state="not_responding"}) count clients from the same gauge.
  assert.equal(await clientsCounted(), countedBefore - 1);
  // The agent is told to stop the frame, then shut out.
  await doomed.waitFor(() => doomed.closeCode !== null);
  assert.ok(doomed.received.some((m) => m.type === "cancel" && m.jobId === jobId));
  const after = await py<{ ids: number[]; group: number[]; job: Record<string, unknown> }>(`
out({"ids": [c["id"] for c in hq.getClients()],
     "group": hq.getClientGroupByName("render")["clients"],
     "job": hq.getJob(${jobId}, ["status", "triesLeft"])})`);
  assert.ok(!after.ids.includes(id), JSON.stringify(after.ids));
  assert.deepEqual(after.group, []);
  assert.equal(after.job.status, "runnable", JSON.stringify(after.job));
  // As for a lost blade: the machine failed, not the frame, so no try is spent.
  assert.equal(after.job.triesLeft, 1, JSON.stringify(after.job));
  assert.equal(after.job.triesLeft, 1, "a removed machine spends no try");
  assert.match(JSON.stringify(await py(`out(fault(hq.getClient, ${id}))`)), /does not exist/);

  // The removed agent's credential is refused, even under its old name.
  const back = await peer({ hostname: "doomed", credential });
  assert.match(back.refused ?? "", /was removed from the farm/);

  // The frame runs on another blade.
  const other = await peer({ hostname: "survivor" });
  await other.waitFor(() => other.running.has(jobId as number));
  other.finish(jobId as number);

  // A new machine under the same name (no credential) enrols with a new id.
  const fresh = await peer({ hostname: "doomed", credential: null });
  assert.equal(fresh.refused, null);
  assert.ok(fresh.clientId > id);
  fresh.close();
  other.close();
});

test("removeClients with an unknown id or too many ids is a Fault and removes nothing", async () => {
  const kept = await peer({ hostname: "kept" });
  const id = kept.clientId;
  const bad = await py<{ faultString: string }>(`out(fault(hq.removeClients, [${id}, 999999]))`);
  assert.match(bad.faultString, /999999.*nothing was removed/);
  const many = await py<{ faultString: string }>(`out(fault(hq.removeClients, list(range(1, 1002))))`);
  assert.match(many.faultString, /at most 1000/);
  const junk = await py<{ faultString: string }>(`out(fault(hq.removeClients, ["x"]))`);
  assert.ok(junk.faultString);
  assert.equal(await py<number>(`out(hq.getClient(${id}, ["id"])["id"])`), id);
  kept.close();
});

test("the CLI takes client ids: openhq disable 2, openhq remove NAME", async () => {
  const blade = await peer({ hostname: "cli-blade" });
  const id = blade.clientId;
  const disable = await cli("disable", String(id));
  assert.equal(disable.exitCode, 0, disable.stderr);
  assert.match(disable.stdout, /disabled: cli-blade/);
  assert.equal(await py<boolean>(`out(hq.getClient(${id}, ["disabled"])["disabled"])`), true);
  const unknown = await cli("remove", "no-such-blade");
  assert.equal(unknown.exitCode, 4);
  assert.match(unknown.stderr, /no such client: no-such-blade/);
  const removed = await cli("remove", "cli-blade");
  assert.equal(removed.exitCode, 0, removed.stderr);
  assert.match(removed.stdout, new RegExp(`removed: cli-blade \\(${id}\\)`));
  const ids = await py<number[]>(`out([c["id"] for c in hq.getClients()])`);
  assert.ok(!ids.includes(id));
  blade.close();
});
