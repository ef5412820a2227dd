// Issue 22, reconnect visibility: an agent that cannot reach its coordinator says so with the URL and the
// reason on each of its first failed connects, then once a minute (ConnectFailures, with a fake clock); the
// coordinator's client list says since when a client's link is down (`disconnectedSince`, `openhq clients`), also
// when the coordinator holding it stopped.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execa } from "execa";
import { ConnectFailures } from "../agent/connect-failures.js";
import { startAgent } from "./support/agent.js";
import { startCoordinator } from "./support/coordinator.js";
import { freePort } from "./support/ports.js";
import { useCoordinator, usePeers } from "./support/coordinator-fixture.js";
import { programArgs } from "./support/programs.js";

test("ConnectFailures: the first few one by one, then one line a minute, cleared on welcome", () => {
  const failures = new ConnectFailures(60_000, 3);
  const url = "ws://farm:5000/agent";
  const lines = [0, 1, 2, 3, 4].map((i) => failures.failed(url, "connect ECONNREFUSED", 1000, i * 1000));
  assert.match(
    lines[0] ?? "",
    /^cannot connect to ws:\/\/farm:5000\/agent: connect ECONNREFUSED \(attempt 1/,
  );
  assert.match(lines[2] ?? "", /attempt 3, next try in 1\.0 s; from now on one line a minute/);
  assert.equal(lines[3], null);
  assert.equal(lines[4], null);
  assert.match(
    failures.failed(url, "connect ETIMEDOUT", 30_000, 62_000) ?? "",
    /^still cannot connect to ws:\/\/farm:5000\/agent: connect ETIMEDOUT \(6 attempts in 1 min/,
  );
  assert.equal(failures.failed(url, "x", 30_000, 70_000), null);
  assert.equal(failures.clear(), 7);
  assert.match(failures.failed(url, "x", 250, 80_000) ?? "", /attempt 1/);
});

test("a real agent with no coordinator logs each failed connect with the URL and the reason", async () => {
  const port = await freePort();
  const agent = await startAgent({ serverUrl: `http://127.0.0.1:${port}` });
  try {
    const wanted = new RegExp(
      `cannot connect to ws://127\\.0\\.0\\.1:${port}/agent: connect ECONNREFUSED[^\\n]*\\(attempt 3, next try in`,
    );
    const deadline = Date.now() + 30_000;
    while (!wanted.test(agent.output()) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100));
    assert.match(agent.output(), wanted);
  } finally {
    await agent.stop();
  }
});

const farm = useCoordinator({ env: { OPENHQ_HEARTBEAT_INTERVAL: "200" } });
const peer = usePeers(() => ({ serverUrl: farm.url, mode: "hold" }));

test("the client list says since when a client is disconnected", async () => {
  const blade = await peer({ hostname: "gone-quiet" });
  const id = blade.clientId;
  blade.close();
  const seen = await farm.py<{ connected: boolean; since: { dateTime: string } | null }>(`
import time
for _ in range(200):
    c = hq.getClient(${id}, ["connected", "disconnectedSince"])
    if not c["connected"]: break
    time.sleep(0.05)
out({"connected": c["connected"], "since": c["disconnectedSince"]})`);
  assert.equal(seen.connected, false);
  assert.ok(seen.since, "disconnectedSince is set");
  const cli = await execa(process.execPath, [...programArgs("cli"), "--server", farm.url, "clients"]);
  const row = cli.stdout.split("\n").find((l) => l.includes("gone-quiet")) ?? "";
  assert.match(row, /disconnected since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
  const back = await peer({ hostname: "gone-quiet" });
  assert.equal(
    await farm.py<unknown>(`out(hq.getClient(${back.clientId}, ["disconnectedSince"])["disconnectedSince"])`),
    null,
  );
  back.close();
});

test("a coordinator that stops leaves its clients disconnected, not connected", async () => {
  // A second coordinator on the same farm (Redis and prefix) holds the link, then stops: the farm's client
  // list must not go on saying "connected" (a moved coordinator would leave every blade so for good).
  const other = await startCoordinator({
    redisUrl: farm.coordinator.redisUrl,
    args: ["--prefix", farm.coordinator.prefix],
    env: { OPENHQ_HEARTBEAT_INTERVAL: "200" },
  });
  const blade = await peer({ hostname: "left-behind", serverUrl: other.url });
  await other.stop();
  const seen = await farm.py<{ connected: boolean; since: unknown }>(
    `c = hq.getClient(${blade.clientId}, ["connected", "disconnectedSince"])
out({"connected": c["connected"], "since": c["disconnectedSince"]})`,
  );
  assert.equal(seen.connected, false);
  assert.ok(seen.since, "disconnectedSince is set");
  blade.close();
});
