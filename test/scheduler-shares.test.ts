// Shares and running limits (issue 24, docs/ADMIN.md "Shares and running limits") on a real coordinator and
// Redis, with protocol peers holding their jobs until the test finishes them (a frame ends when the test
// says so) and Python as the client: weighted fair share converging as frames finish, guarantees, a burst
// cap against higher priority, maxRunning over a tree, the per-user cap, share resolution and its warning.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startCoordinator, type TestCoordinator } from "./support/coordinator.js";
import { ProtocolPeer } from "./support/protocol-peer.js";
import { disableAllClients, iniArgs, py } from "./support/farm-kit.js";
import { rng } from "./support/rng.js";
import { spawn } from "node:child_process";
import { programArgs } from "./support/programs.js";
import { eventually } from "./support/eventually.js";

let coord: TestCoordinator;
let peers: ProtocolPeer[] = [];
/** Each test's blades are new clients (clearFarm disables the last test's). */
let farms = 0;

const INI = `
[openhq]
maxRunningPerUser = 3

[openhq.share.a]
weight = 1
[openhq.share.b]
weight = 2
[openhq.share.c]
weight = 1
users = carol

[openhq.share.g]
weight = 1
guarantee = 8
[openhq.share.h]
weight = 10

[openhq.share.capped]
burst = 3
`;

before(async () => {
  coord = await startCoordinator({ args: iniArgs(INI), env: { OPENHQ_HEARTBEAT_INTERVAL: "200" } });
});
after(async () => {
  for (const p of peers) p.close();
  await coord.stop();
});

/** `n` blades of `cpus` slots each, holding their jobs. */
async function farm(n: number, cpus: number): Promise<ProtocolPeer[]> {
  farms++;
  const made = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      new ProtocolPeer({
        serverUrl: coord.url,
        hostname: `farm${farms}-blade${i}`,
        cpus,
        mode: "hold",
      }).connect(),
    ),
  );
  peers.push(...made);
  return made;
}

/** Cancels every job and drops the blades, so the next test starts from an empty farm. */
async function clearFarm(): Promise<void> {
  for (const p of peers) p.close();
  peers = [];
  await disableAllClients(coord.url);
}

const submit = (spec: unknown) =>
  py<number[]>(coord.url, `out(hq.newjob(${JSON.stringify(JSON.stringify(spec))}))`);

function frames(n: number, extra: Record<string, unknown>): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => ({ name: `f${i}`, command: "true", ...extra }));
}

/** Running jobs across the blades, by the share their ids belong to. */
function runningBy(groups: Record<string, Set<number>>): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(Object.keys(groups).map((k) => [k, 0]));
  for (const p of peers)
    for (const id of p.running.keys())
      for (const [name, ids] of Object.entries(groups)) if (ids.has(id)) out[name] = (out[name] ?? 0) + 1;
  return out;
}

const totalRunning = () => peers.reduce((n, p) => n + p.running.size, 0);

/** Finishes one running job (chosen by `pick`) and waits until its slot is taken again. */
async function finishOne(pick: () => number): Promise<void> {
  const all = peers.flatMap((p) => [...p.running.keys()].map((id) => ({ p, id })));
  const chosen = all[pick() % all.length];
  assert.ok(chosen);
  const before = totalRunning();
  chosen.p.finish(chosen.id);
  chosen.p.running.delete(chosen.id);
  await eventually("totalRunning() === before", () => totalRunning() === before, 20_000);
}

test("shares weighted 1:2:1 on 40 saturated slots converge to 10/20/10 within one frame time, then stay within ±1", async () => {
  const random = rng(24);
  const a = new Set(await submit(frames(100, { share: "a" })));
  await farm(10, 4);
  await eventually("totalRunning() === 40", () => totalRunning() === 40);
  assert.deepEqual(runningBy({ a }), { a: 40 });
  // b and c arrive when share a holds the whole farm: no preemption, so they get slots as a's frames end.
  const b = new Set(await submit(frames(100, { share: "b" })));
  const c = new Set(await submit(frames(100, { share: "c" })));
  const first = new Set(peers.flatMap((p) => [...p.running.keys()]));
  // One frame time: every frame that was running when b and c arrived has ended once.
  while (peers.some((p) => [...p.running.keys()].some((id) => first.has(id)))) {
    const running = peers.flatMap((p) => [...p.running.keys()].filter((id) => first.has(id)));
    const id = running[Math.floor(random() * running.length)] as number;
    const peer = peers.find((p) => p.running.has(id)) as ProtocolPeer;
    peer.finish(id);
    peer.running.delete(id);
    first.delete(id);
    await eventually("totalRunning() === 40", () => totalRunning() === 40);
  }
  assert.deepEqual(runningBy({ a, b, c }), { a: 10, b: 20, c: 10 });
  for (let i = 0; i < 60; i++) {
    await finishOne(() => Math.floor(random() * 1e9));
    const now = runningBy({ a, b, c });
    assert.ok(Math.abs((now["a"] ?? 0) - 10) <= 1, JSON.stringify(now));
    assert.ok(Math.abs((now["b"] ?? 0) - 20) <= 1, JSON.stringify(now));
    assert.ok(Math.abs((now["c"] ?? 0) - 10) <= 1, JSON.stringify(now));
  }
  // The counters the Lua transitions keep agree with what runs.
  const metrics = await (await fetch(`${coord.url}/metrics`)).text();
  assert.match(metrics, /openhq_share_running_slots\{share="b"\} 20/);
  // The Farm page's table shows the same, and a job's page its share.
  const farmPage = await (await fetch(`${coord.url}/farm`)).text();
  assert.match(farmPage, /id="shares"/);
  assert.match(
    farmPage,
    /<td>b<\/td>\s*<td class="num">20<\/td>\s*<td class="num">0<\/td>\s*<td class="num">2<\/td>/,
  );
  const jobPage = await (await fetch(`${coord.url}/jobs/${[...b][0]}`)).text();
  assert.match(jobPage, /<th>share<\/th>\s*<td>b<\/td>/);
  await cancel([...a, ...b, ...c]);
  await clearFarm();
});

async function cancel(ids: number[]): Promise<void> {
  await py(coord.url, `out(hq.cancelJobs(${JSON.stringify(ids)}))`);
}

test("a share below its guarantee goes first: g (guarantee 8, weight 1) against h (weight 10) on 10 slots", async () => {
  const h = new Set(await submit(frames(20, { share: "h" })));
  const g = new Set(await submit(frames(20, { share: "g" })));
  await farm(10, 1);
  await eventually("totalRunning() === 10", () => totalRunning() === 10);
  assert.deepEqual(runningBy({ g, h }), { g: 8, h: 2 });
  await cancel([...g, ...h]);
  await clearFarm();
});

test("a share at its burst maximum gets nothing more, even at a higher priority; waitingFor says why", async () => {
  const capped = await submit(frames(10, { share: "capped", priority: 10 }));
  const low = await submit(frames(10, { priority: 0 }));
  await farm(10, 1);
  await eventually("totalRunning() === 10", () => totalRunning() === 10);
  assert.deepEqual(runningBy({ capped: new Set(capped), low: new Set(low) }), { capped: 3, low: 7 });
  const waiting = await py<string[]>(
    coord.url,
    `out([j["waitingFor"] for j in hq.getJobs(${JSON.stringify(capped)}, ["status", "waitingFor"]) if j["status"] == "runnable"])`,
  );
  assert.ok(waiting.length === 7);
  assert.ok(
    waiting.some((w) => w === "share capped at its burst limit (3 of 3 slots)"),
    JSON.stringify(waiting),
  );
  await cancel([...capped, ...low]);
  await clearFarm();
});

test("maxRunning caps a whole tree, inherited by its children; < 1 is a Fault", async () => {
  const [parent] = await submit({
    name: "sim",
    maxRunning: 2,
    children: frames(8, {}),
  });
  const others = await submit(frames(10, {}));
  await farm(6, 1);
  await eventually("totalRunning() === 6", () => totalRunning() === 6);
  const tree = await py<number[]>(coord.url, `out(hq.getJob(${parent}, ["children"])["children"])`);
  assert.deepEqual(runningBy({ tree: new Set(tree), others: new Set(others) }), { tree: 2, others: 4 });
  for (const bad of [0, -1]) {
    const fault = await py<string>(
      coord.url,
      `
try:
    hq.newjob({"name": "x", "command": "true", "maxRunning": ${bad}})
    out("no fault")
except xmlrpc.client.Fault as f:
    out(f.faultString)`,
    );
    assert.match(fault, /maxRunning/);
  }
  await cancel([parent as number, ...others]);
  await clearFarm();
});

test("the per-user cap (openhq.maxRunningPerUser) holds; jobs show their share; an unknown share is default with a warning", async () => {
  const alice = await submit(frames(6, { submittedBy: "alice" }));
  const bob = await submit(frames(6, { submittedBy: "bob" }));
  await farm(8, 1);
  await eventually("totalRunning() === 6", () => totalRunning() === 6);
  assert.deepEqual(runningBy({ alice: new Set(alice), bob: new Set(bob) }), { alice: 3, bob: 3 });
  const [unknown] = await submit({ name: "u", command: "true", share: "nosuch", priority: -1 });
  const [mapped] = await submit({ name: "m", command: "true", submittedBy: "carol", priority: -1 });
  const jobs = await py<{ share: string; logs: unknown }[]>(
    coord.url,
    `out(hq.getJobs([${unknown}, ${mapped}], ["share"]))`,
  );
  assert.deepEqual(
    jobs.map((j) => j.share),
    ["default", "c"],
  );
  const log = await py<string>(coord.url, `out(str(hq.getJob(${unknown}, ["logs"])))`);
  assert.match(log, /share nosuch is not configured/);
  await cancel([...alice, ...bob, unknown as number, mapped as number]);
  await clearFarm();
});

test("getShares, setShare and removeShare (bad input is a Fault that changes nothing); openhq shares", async () => {
  const result = await py<{
    before: string[];
    faults: string[];
    after: Record<string, unknown>[];
    gone: string[];
  }>(
    coord.url,
    `
def fault(call):
    try:
        call()
        return "no fault"
    except xmlrpc.client.Fault as f:
        return f.faultString
before = [s["name"] for s in hq.getShares()]
faults = [
    fault(lambda: hq.setShare("fx", {"weight": 0})),
    fault(lambda: hq.setShare("fx", {"burst": "150%"})),
    fault(lambda: hq.setShare("fx", {"colour": "red"})),
    fault(lambda: hq.setShare("bad name", {"weight": 1})),
    fault(lambda: hq.removeShare("nosuch")),
]
unchanged = [s["name"] for s in hq.getShares()]
assert unchanged == before, unchanged
hq.setShare("fx", {"weight": 3, "guarantee": 2, "burst": "50%", "users": ["dave"]})
after = [s for s in hq.getShares() if s["name"] == "fx"]
hq.removeShare("fx")
out({"before": before, "faults": faults, "after": after, "gone": [s["name"] for s in hq.getShares()]})`,
  );
  assert.deepEqual(result.before, ["a", "b", "c", "capped", "default", "g", "h"]);
  assert.match(result.faults[0] ?? "", /weight/);
  assert.match(result.faults[1] ?? "", /burst/);
  assert.match(result.faults[2] ?? "", /colour/);
  assert.match(result.faults[3] ?? "", /name/);
  assert.match(result.faults[4] ?? "", /no share named/);
  assert.deepEqual(result.after[0], {
    name: "fx",
    weight: 3,
    guarantee: 2,
    burst: "50%",
    // Half of the farm's CPU slots (the registered blades of the earlier tests).
    burstSlots: (result.after[0] as { burstSlots: number }).burstSlots,
    running: 0,
    users: ["dave"],
  });
  assert.ok(!result.gone.includes("fx"));

  const cli = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [...programArgs("cli"), "shares"], {
      env: { ...process.env, HQSERVER: coord.url },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.on("close", (code) => (code === 0 ? resolve(stdout) : reject(new Error(`exit ${code}`))));
  });
  assert.match(cli, /SHARE\s+RUNNING\s+GUARANTEE\s+WEIGHT\s+BURST/);
  assert.match(cli, /\ncapped\s+0\s+0\s+1\s+3\b/);
  assert.match(cli, /\ng\s+0\s+8\s+1\s+-/);
});
