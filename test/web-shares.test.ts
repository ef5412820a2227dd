// The shares on the dashboard's Farm page (issue 24), in a real browser on a real coordinator: with access
// control on, an admin changes a share, defines one and removes it through the page (setShare and
// removeShare over the XML-RPC API, so the audit log names the admin), and a read-only login sees the table
// without any edit control; a chart per share draws the running slots the history sampler recorded while a
// real agent ran a frame of the share, with the share's guarantee and burst; with more than 20 users running
// (a protocol peer holding their jobs), the Running-by-user table lists the busiest 20 and says how many more.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { sampleFarm } from "../coordinator/web/history.js";
import { HQServer } from "../shared/client/index.js";
import { startAgent } from "./support/agent.js";
import { browser, skippedWithoutChromium } from "./support/browser.js";
import { testContext, testLogs } from "./support/context.js";
import { startCoordinator } from "./support/coordinator.js";
import { eventually } from "./support/eventually.js";
import { iniArgs } from "./support/farm-kit.js";
import { ADMIN, guardedCoordinator, VIEWER } from "./support/logins.js";
import { ProtocolPeer } from "./support/protocol-peer.js";

/** The share charts' picture, for a person to look at (as test/web-dashboard.test.ts keeps its pages). */
const ARTIFACTS = join(process.cwd(), "test-artifacts");

interface ShareRow {
  name: string;
  weight: number;
  guarantee: number;
  burst: string;
  users: string[];
}
interface AuditEntry {
  user: string;
  method: string;
  /** "ok", or the Fault's code. */
  outcome: string | number;
}

test("Farm page: an admin edits, defines and removes shares; a read-only login sees no edit control", async (t) => {
  if (skippedWithoutChromium(t)) return;
  const { coordinator, admin } = await guardedCoordinator(t);
  await admin.call("setShare", "lighting", { weight: 2, guarantee: 4 });
  const shares = async () => await admin.call<ShareRow[]>("getShares");
  const share = async (name: string) => (await shares()).find((s) => s.name === name);

  const context = await browser(t, { httpCredentials: ADMIN });
  const page = await context.newPage();
  page.on("dialog", (dialog) => void dialog.accept());
  await page.goto(`${coordinator.url}/farm`);
  const lighting = page.locator('#shares form.share-edit[data-share="lighting"]');
  await lighting.waitFor();
  await lighting.locator('input[name="weight"]').fill("3");
  await lighting.locator('input[name="burst"]').fill("50%");
  await lighting.locator('input[name="users"]').fill("ann, bo");
  // A change that is done flashes "done" and reloads the page 300 ms later (static/app.js): wait for the
  // reload (the flash may be gone by the time a loaded box looks) and read the result through the API.
  const reload = () => page.waitForEvent("load", { timeout: 60_000 });
  let reloaded = reload();
  await lighting.locator('button[type="submit"]').click();
  await reloaded;
  const changed = await share("lighting");
  assert.deepEqual(
    [changed?.weight, changed?.guarantee, changed?.burst, changed?.users],
    [3, 4, "50%", ["ann", "bo"]],
  );

  // A bad value is the API's Fault, shown, and changes nothing.
  await lighting.locator('input[name="burst"]').fill("150%");
  await lighting.locator('button[type="submit"]').click();
  await page.locator("#flash.error", { hasText: "burst" }).waitFor();
  assert.equal((await share("lighting"))?.burst, "50%");

  const fresh = page.locator("#share-new");
  await fresh.locator('input[name="name"]').fill("fx");
  await fresh.locator('input[name="weight"]').fill("1.5");
  reloaded = reload();
  await fresh.locator('button[type="submit"]').click();
  await reloaded;
  assert.equal((await share("fx"))?.weight, 1.5);

  reloaded = reload();
  await page.locator('#shares form.share-edit[data-share="fx"] button[data-method="removeShare"]').click();
  await reloaded;
  assert.equal(await share("fx"), undefined);
  // `default` is always there and cannot be removed.
  assert.equal(
    await page
      .locator('#shares form.share-edit[data-share="default"] button[data-method="removeShare"]')
      .count(),
    0,
  );

  const log = await admin.call<{ entries: AuditEntry[] }>("getAuditLog", { user: ADMIN.username, limit: 20 });
  const calls = log.entries.map((e) => `${e.method} ${e.outcome === "ok" ? "ok" : "fault"}`);
  for (const call of ["setShare ok", "setShare fault", "removeShare ok"])
    assert.ok(calls.includes(call), `audit has ${call}: ${calls.join(", ")}`);

  // A read-only login: the same table, no form and no Edit column.
  const viewer = await browser(t, { httpCredentials: VIEWER });
  const readonly = await viewer.newPage();
  await readonly.goto(`${coordinator.url}/farm`);
  await readonly.locator("#shares td", { hasText: "lighting" }).waitFor();
  assert.equal(await readonly.locator("form.share-edit").count(), 0);
  assert.equal(await readonly.locator("#shares th", { hasText: "Edit" }).count(), 0);
});

test("Farm page: a 24 h chart per configured share draws its sampled running slots, guarantee and burst", async (t) => {
  if (skippedWithoutChromium(t)) return;
  const ini = join(mkdtempSync(join(tmpdir(), "openhq-shares-")), "hqserver.ini");
  writeFileSync(
    ini,
    ["[openhq.share.lighting]", "guarantee = 2", "burst = 3", "[openhq.share.fx]", "weight = 2", ""].join(
      "\n",
    ),
  );
  const coordinator = await startCoordinator({ args: ["--config", ini] });
  const redis = new Redis(coordinator.redisUrl);
  // The in-process sampler's context opens the farm's one job log folder, as a second coordinator would.
  const logs = await testLogs(redis, coordinator.keys, { dir: coordinator.jobLogsDir });
  t.after(async () => {
    await logs.stop();
    await redis.quit();
    await coordinator.stop();
  });
  const agent = await startAgent({ serverUrl: coordinator.url, cpus: 2 });
  t.after(() => agent.stop());
  const hq = new HQServer(coordinator.url);
  t.after(() => hq.rpc.close());
  const ctx = await testContext(redis, coordinator.keys, {}, logs);

  // A frame of share lighting runs; the sampler (as the coordinator runs it each minute) records it, in a
  // minute before the coordinator's own first sample (taken at start, nothing running).
  const [id] = await hq.call<number[]>("newjob", {
    name: "lookdev",
    share: "lighting",
    submittedBy: "<b>ann</b>",
    command: "sleep 30",
  });
  assert.ok(id !== undefined);
  await eventually(
    "the lighting frame runs",
    async () => (await hq.getJob(id, ["status"])).status === "running",
  );
  const minute = Date.now() - (Date.now() % 60_000);
  assert.equal(await sampleFarm(ctx, minute - 2 * 60_000), true);

  const api = (await (await fetch(`${coordinator.url}/farm/history.json`)).json()) as {
    shares: {
      t: number;
      shares: { name: string; running: number; guarantee: number; burst: number | null }[];
    }[];
  };
  const lighting = api.shares.map((s) => s.shares.find((r) => r.name === "lighting"));
  assert.ok(api.shares.length >= 2, `the sampled minute and the coordinator's own: ${api.shares.length}`);
  assert.deepEqual(lighting[0], { name: "lighting", running: 1, guarantee: 2, burst: 3 });

  const context = await browser(t);
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on("pageerror", (err) => pageErrors.push(err.message));
  await page.goto(`${coordinator.url}/farm`);
  const chart = page.locator('svg[id="chart-share-lighting"]');
  await chart.waitFor();
  const series = async (svg: typeof chart, name: string) =>
    ((await svg.locator(`polyline[data-name="${name}"]`).getAttribute("data-v")) ?? "")
      .split(",")
      .map(Number);
  assert.deepEqual(
    ((await chart.getAttribute("data-t")) ?? "").split(",").map(Number),
    api.shares.map((s) => s.t),
  );
  assert.deepEqual(
    await series(chart, "running"),
    lighting.map((r) => r?.running),
  );
  assert.deepEqual(
    await series(chart, "guarantee"),
    lighting.map(() => 2),
  );
  assert.deepEqual(
    await series(chart, "burst"),
    lighting.map(() => 3),
  );
  // Who holds the farm: the user's running slot, the name shown as text.
  assert.deepEqual(await page.locator("#users-running tbody tr td").allTextContents(), ["<b>ann</b>", "1"]);
  // fx has no burst: a gap, not a line at 0; default is charted beside the configured shares.
  const fx = page.locator('svg[id="chart-share-fx"]');
  assert.ok((await series(fx, "burst")).every(Number.isNaN));
  assert.equal(await page.locator('svg[id="chart-share-default"]').count(), 1);
  // The default range fits the history there is: 2 minutes old, so the 5-minute minimum.
  const from = Number(await chart.getAttribute("data-from"));
  const to = Number(await chart.getAttribute("data-to"));
  assert.equal(Math.round((to - from) / 60_000), 5);
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.locator("#share-charts").screenshot({ path: join(ARTIFACTS, "farm-share-charts.png") });
  assert.deepEqual(pageErrors, []);
});

test("Farm page: more than 20 users running: the busiest 20 by CPU slots (ties by name), and how many more", async (t) => {
  const coordinator = await startCoordinator({
    args: iniArgs("[openhq.share.lighting]\nweight = 2\n"),
    env: { OPENHQ_HEARTBEAT_INTERVAL: "200" },
  });
  t.after(() => coordinator.stop());
  // One blade big enough for every job, holding them until the test ends.
  const blade = await new ProtocolPeer({
    serverUrl: coordinator.url,
    hostname: "bigblade",
    cpus: 400,
    mode: "hold",
  }).connect();
  t.after(() => blade.close());
  const hq = new HQServer(coordinator.url);
  t.after(() => hq.rpc.close());
  // 23 users, user k holding k slots; two more holding 12 each (a tie, listed by name).
  const users: [string, number][] = [
    ...Array.from(
      { length: 23 },
      (_, i) => [`artist${String(i + 1).padStart(2, "0")}`, i + 1] as [string, number],
    ),
    ["zed", 12],
    ["amy", 12],
  ];
  for (const [user, cpus] of users)
    await hq.call("newjob", { name: `frames of ${user}`, submittedBy: user, cpus, command: "sleep 60" });
  await blade.waitFor(() => blade.running.size === users.length, 30_000);

  const page = await (await fetch(`${coordinator.url}/farm`)).text();
  const table = /<table id="users-running">([\s\S]*?)<\/table>/.exec(page)?.[1] ?? "";
  const rows = [...table.matchAll(/<tr>\s*<td>([^<]*)<\/td>\s*<td>(\d+)<\/td>\s*<\/tr>/g)].map(
    (m) => `${m[1]} ${m[2]}`,
  );
  const expected = [...users]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([user, slots]) => `${user} ${slots}`);
  assert.deepEqual(rows, expected.slice(0, 20));
  assert.deepEqual(rows.slice(10, 14), ["artist13 13", "amy 12", "artist12 12", "zed 12"]);
  assert.match(page, /<p class="muted" id="users-more">and 5 more users<\/p>/);
});
