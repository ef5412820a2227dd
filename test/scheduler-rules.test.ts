// Dispatch rules (docs/COMPAT.md §3, §4, §6) with protocol peers as agents and Python as the client: priority then
// FIFO, conditions, tags, cpus packing, resources, min/max hosts, disabled and unavailable clients,
// per-OS commands, waitingFor and showBlockedClientsWarning.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startCoordinator, type TestCoordinator } from "./support/coordinator.js";
import { ProtocolPeer, type PeerOptions } from "./support/protocol-peer.js";
import { disableAllClients, py, waitFinished, waitJob } from "./support/farm-kit.js";
import { eventually } from "./support/eventually.js";

let coord: TestCoordinator;
let peers: ProtocolPeer[] = [];

before(async () => {
  coord = await startCoordinator({ env: { OPENHQ_HEARTBEAT_INTERVAL: "200" } });
});
after(async () => {
  for (const p of peers) p.close();
  await coord.stop();
});

async function farm(list: Partial<PeerOptions>[]): Promise<ProtocolPeer[]> {
  const made = await Promise.all(
    list.map((o) => new ProtocolPeer({ serverUrl: coord.url, mode: "hold", ...o }).connect()),
  );
  peers.push(...made);
  return made;
}

async function closeAll(): Promise<void> {
  // A job a test leaves running would go back to the queue once its closed peer counts as crashed, and run on
  // the next test's peers (a flake under load): cancel them first, while their peers can still confirm it.
  await py(coord.url, `hq.cancelJobs(hq.getUnfinishedRootJobIds()); out(True)`);
  for (const p of peers) p.close();
  peers = [];
  // Leave the farm empty for the next test: disable whatever is still registered.
  await disableAllClients(coord.url);
}

const submit = (spec: unknown) =>
  py<number[]>(coord.url, `out(hq.newjob(${JSON.stringify(JSON.stringify(spec))}))`);

test("higher priority first, FIFO within a priority", async () => {
  const ids = await submit([
    { name: "a", command: "true", priority: 0 },
    { name: "b", command: "true", priority: 5 },
    { name: "c", command: "true", priority: 5 },
    { name: "d", command: "true", priority: "1 (Low)" },
  ]);
  const [a, b, c, d] = ids as [number, number, number, number];
  const [node] = await farm([{ hostname: "prio", cpus: 1 }]);
  const order: number[] = [];
  for (let i = 0; i < 4; i++) {
    await node!.waitFor(() => node!.running.size === 1);
    const [jobId] = [...node!.running.keys()];
    order.push(jobId as number);
    node!.finish(jobId as number);
  }
  assert.deepEqual(order, [b, c, d, a]);
  assert.deepEqual(Object.values(await waitFinished(coord.url, ids)), [
    "succeeded",
    "succeeded",
    "succeeded",
    "succeeded",
  ]);
  await closeAll();
});

test("conditions: hostname, hostname:name, group, os with ==, !=, in, not_in, any", async () => {
  const [lin, named, win] = await farm([
    { hostname: "lin1", cpus: 8 },
    { hostname: "lin1", name: "two", cpus: 8 },
    { hostname: "win1", platform: "windows", cpus: 8 },
  ]);
  await py(
    coord.url,
    `
g = hq.createClientGroup("gpus")
hq.addClientToGroup(g, ${win!.clientId})
out(g)`,
  );
  const cond = (name: string, op: string, value: string) => [{ type: "client", name, op, value }];
  const specs = [
    { name: "host==", command: "x", conditions: cond("hostname", "==", "win1") },
    { name: "label==", command: "x", conditions: cond("hostname:name", "==", "lin1:two") },
    { name: "label-empty", command: "x", conditions: cond("hostname:name", "==", "lin1:") },
    { name: "group", command: "x", conditions: cond("group", "==", "gpus") },
    { name: "os in", command: "x", conditions: cond("os", "in", "macosx; windows") },
    { name: "os not_in", command: "x", conditions: cond("os", "not_in", "linux,macosx") },
    { name: "host any", command: "x", conditions: cond("hostname", "any", "nowhere win1") },
    {
      name: "os!= and name",
      command: "x",
      conditions: [...cond("os", "!=", "windows"), ...cond("hostname:name", "!=", "lin1:")],
    },
    { name: "host shortcut", command: "x", host: "lin1:two" },
  ];
  const ids = await submit(specs);
  const where = new Map<number, string>();
  await eventually("every job to run on its client", () => {
    for (const [p, label] of [
      [lin, "lin1"],
      [named, "lin1:two"],
      [win, "win1"],
    ] as const)
      for (const id of p!.running.keys()) where.set(id, label);
    return where.size === ids.length;
  }).catch(async (err) => {
    const jobs = await py(
      coord.url,
      `out(hq.getJobs(${JSON.stringify(ids)}, ["id", "status", "waitingFor", "conditions"]))`,
    );
    throw new Error(`${err}: ${JSON.stringify([...where])} ${JSON.stringify(jobs)} ${coord.output()}`);
  });
  assert.deepEqual(
    ids.map((id) => where.get(id)),
    ["win1", "lin1:two", "lin1", "win1", "win1", "win1", "win1", "lin1:two", "lin1:two"],
  );
  await closeAll();
});

test("cpus packing, single and single:x tags", async () => {
  const [node] = await farm([{ hostname: "pack", cpus: 4 }]);
  const ids = await submit([
    { name: "two-a", command: "x", cpus: 2, tags: ["single:license"] },
    { name: "two-b", command: "x", cpus: 2, tags: ["single:license"] },
    { name: "one", command: "x", cpus: 1 },
    { name: "solo", command: "x", tags: "single" },
  ]);
  const [twoA, twoB, one, solo] = ids as [number, number, number, number];
  // two-a and one fit together (3 of 4 CPUs); two-b shares single:license with two-a; solo needs an empty client.
  await node!.waitFor(() => node!.running.has(twoA) && node!.running.has(one));
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual([...node!.running.keys()].sort(), [twoA, one].sort());
  node!.finish(twoA);
  await node!.waitFor(() => node!.running.has(twoB));
  node!.finish(twoB);
  node!.finish(one);
  await node!.waitFor(() => node!.running.has(solo));
  const [afterSolo] = (await submit({ name: "after", command: "x" })) as [number];
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(node!.running.size, 1, "nothing runs beside a `single` job");
  node!.finish(solo);
  await node!.waitFor(() => node!.running.has(afterSolo));
  node!.finish(afterSolo);
  ids.push(afterSolo);
  await waitFinished(coord.url, ids);
  const big = await submit({ name: "too big", command: "x", cpus: 64 });
  const blocked = await waitJob(
    coord.url,
    big[0] as number,
    ["showBlockedClientsWarning", "waitingFor", "status"],
    `j["showBlockedClientsWarning"]`,
  );
  assert.equal(blocked.showBlockedClientsWarning, true);
  assert.match(String(blocked.waitingFor), /^needs 64 CPUs; largest blade has \d+$/);
  await py(coord.url, `hq.cancelJobs(${JSON.stringify(big)}); out(True)`);
  await closeAll();
});

test("resources: per-job totals and per-machine units", async () => {
  const [n1, n2] = await farm([
    { hostname: "res1", cpus: 8 },
    { hostname: "res2", cpus: 8 },
  ]);
  await py(
    coord.url,
    `
hq.addResource("tokens", 3, False)
hq.addResource("houdini", 1, True)
out(True)`,
  );
  const perJob = await submit([
    { name: "t2", command: "x", resources: { tokens: 2 } },
    { name: "t2b", command: "x", resources: { tokens: 2 } },
  ]);
  await eventually(
    "n1.running.size + n2.running.size === 1",
    () => n1!.running.size + n2!.running.size === 1,
  );
  const waiting = await waitJob(
    coord.url,
    perJob[1] as number,
    ["waitingFor"],
    `"resources" in j["waitingFor"]`,
  );
  assert.match(String(waiting.waitingFor), /waiting for resources: tokens/);
  const first = n1!.running.size ? n1! : n2!;
  first.finish(perJob[0] as number);
  await eventually(
    "n1.running.has(perJob[1] as number) || n2.running.has(perJob[1] as number)",
    () => n1!.running.has(perJob[1] as number) || n2!.running.has(perJob[1] as number),
  );
  for (const p of [n1!, n2!]) if (p.running.has(perJob[1] as number)) p.finish(perJob[1] as number);
  await waitFinished(coord.url, perJob);

  // Per machine: one machine may hold it, for any number of its jobs.
  const perMachine = await submit([
    { name: "h1", command: "x", resources: { houdini: 1 }, host: "res1" },
    { name: "h2", command: "x", resources: { houdini: 1 }, host: "res1" },
    { name: "h3", command: "x", resources: { houdini: 1 }, host: "res2" },
  ]);
  await n1!.waitFor(() => n1!.running.size === 2);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(n2!.running.size, 0, "the second machine waits for the per-machine license");
  const used = await py<{ used: number }[]>(coord.url, `out(hq.getResources())`);
  assert.ok(used.some((r) => r.used === 1));
  n1!.finish(perMachine[0] as number);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(n2!.running.size, 0, "still held by res1's other job");
  n1!.finish(perMachine[1] as number);
  await n2!.waitFor(() => n2!.running.size === 1);
  n2!.finish(perMachine[2] as number);
  await waitFinished(coord.url, perMachine);
  await closeAll();
});

test("minHosts/maxHosts: clients held until enough are free, one master, HQHOSTS for all", async () => {
  const [busy] = await farm([{ hostname: "mh1", cpus: 1 }]);
  const blocker = await submit({ name: "blocker", command: "x", host: "mh1" });
  await busy!.waitFor(() => busy!.running.size === 1);
  const [mh2, mh3] = await farm([
    { hostname: "mh2", cpus: 1 },
    { hostname: "mh3", cpus: 1 },
  ]);
  const [multi] = await submit({ name: "sim", command: "x", minHosts: 3, maxHosts: 4 });
  const held = await waitJob(
    coord.url,
    multi as number,
    ["clientsOnHold", "status"],
    `len(j["clientsOnHold"] or []) == 2`,
  );
  assert.equal((held.clientsOnHold as unknown[]).length, 2);
  assert.equal(held.status, "runnable");
  // A held client takes nothing else.
  const other = await submit({
    name: "other",
    command: "x",
    conditions: [{ type: "client", name: "hostname", op: "in", value: "mh2,mh3" }],
  });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(mh2!.running.size + mh3!.running.size, 0);
  busy!.finish(blocker[0] as number);
  await eventually("[busy, mh2, mh3].every((p) => p.running.has(multi as number))", () =>
    [busy!, mh2!, mh3!].every((p) => p.running.has(multi as number)),
  ).catch(async (err) => {
    const jobs = await py(
      coord.url,
      `out([hq.getJobs([${multi}, ${other[0]}]), hq.getClients(None, ["label", "runningJobs"])])`,
    );
    throw new Error(`${err}: ${JSON.stringify(jobs)} ${coord.output()}`);
  });
  const assigns = [busy!, mh2!, mh3!].map((p) => p.running.get(multi as number)!);
  assert.equal(assigns.filter((a) => a.master).length, 1);
  for (const a of assigns) assert.deepEqual([...a.hosts].sort(), ["mh1", "mh2", "mh3"]);
  assert.equal(
    assigns.find((a) => a.master)!.hosts[0],
    assigns.find((a) => a.master) && assigns[0]!.hosts[0],
  );
  for (const p of [busy!, mh2!, mh3!]) p.finish(multi as number);
  await eventually(
    "mh2.running.has(other[0] as number) || mh3.running.has(other[0] as number)",
    () => mh2!.running.has(other[0] as number) || mh3!.running.has(other[0] as number),
  );
  for (const p of [mh2!, mh3!]) if (p.running.has(other[0] as number)) p.finish(other[0] as number);
  const done = await waitFinished(coord.url, [multi as number, other[0] as number]);
  assert.deepEqual(Object.values(done), ["succeeded", "succeeded"]);
  const job = await py<{ clients: { master: boolean }[] }>(
    coord.url,
    `out(hq.getJob(${multi}, ["clients"]))`,
  );
  assert.equal(job.clients.length, 3);
  await closeAll();
});

test("disabled and unavailable clients get nothing; per-OS commands pick the client's platform", async () => {
  const [node] = await farm([{ hostname: "flags", cpus: 2 }]);
  await py(coord.url, `out(hq.setdisabled("flags", True))`);
  const [j1] = await submit({ name: "j1", command: { linux: "echo linux", windows: "echo win" } });
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(node!.running.size, 0);
  node!.available = false;
  node!.heartbeat();
  assert.equal(await py(coord.url, `out(hq.setdisabled("flags", False))`), true);
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(node!.running.size, 0, "unavailable (availability rules) gets nothing");
  node!.available = true;
  node!.heartbeat();
  await node!.waitFor(() => node!.running.has(j1 as number));
  assert.equal(node!.running.get(j1 as number)!.command, "echo linux");
  node!.finish(j1 as number);
  await waitFinished(coord.url, [j1 as number]);
  assert.equal(await py(coord.url, `out(hq.setdisabled("nosuch", True))`), null);
  await closeAll();
});
