// The dashboard's pictures and search in a real browser (Debian's Chromium through playwright-core) on a real
// farm: the farm charts draw exactly the samples /farm/history.json answers (the coordinator's own sample
// plus older ones written into its Redis history), a parent's render-time chart has one bar per frame, a
// client's page has its load chart, and the header search finds a child job by name and jumps to an id. The
// Farm page's figures are the newest sample's while it is under 2 minutes old, else read live (a stale sample or
// none: the sampler failing).

import { test } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { browser, skippedWithoutChromium } from "./support/browser.js";
import { oneAgentFarm } from "./support/one-agent-farm.js";
import { startCoordinator } from "./support/coordinator.js";
import { eventually } from "./support/eventually.js";
import { ProtocolPeer } from "./support/protocol-peer.js";

interface Sample {
  t: number;
  slotsBusy: number;
  slotsTotal: number;
  waiting: number;
}

test("farm charts match /farm/history.json; render-time and client charts; search finds a child and jumps to an id", async (t) => {
  if (skippedWithoutChromium(t)) return;
  const { coordinator, hq } = await oneAgentFarm(t);
  const redis = new Redis(coordinator.redisUrl);
  t.after(() => void redis.quit());

  // Older minutes, as other coordinators would have written them.
  const minute = Date.now() - (Date.now() % 60_000);
  for (const [ago, busy, total, waiting] of [
    [30, 1, 4, 12],
    [20, 3, 4, 8],
    [10, 4, 4, 2],
  ] as const) {
    const t0 = minute - ago * 60_000;
    await redis.zadd(
      coordinator.keys.historyFarm,
      t0,
      [t0, busy, total, 1, 0, 0, 0, 0, waiting, busy].join(","),
    );
  }

  const ids = await hq.newjob({
    name: "shot 070",
    children: [1, 2, 3, 4, 5].map((i) => ({ name: `shot 070 frame 000${i}`, command: `sleep 0.${i}` })),
  });
  const parent = ids[0] as number;
  const kids = (await hq.getJob(parent, ["children"])).children as number[];
  while ((await hq.getJob(parent, ["status"])).status !== "succeeded")
    await new Promise((r) => setTimeout(r, 200));

  const context = await browser(t);
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on("pageerror", (err) => pageErrors.push(err.message));

  const api = (await (await fetch(`${coordinator.url}/farm/history.json?hours=1`)).json()) as {
    samples: Sample[];
  };
  assert.ok(api.samples.length >= 4, `the coordinator's own sample and the 3 written: ${api.samples.length}`);
  await page.goto(`${coordinator.url}/farm?hours=1`);
  const chart = page.locator("svg#chart-slots");
  await chart.waitFor();
  const times = ((await chart.getAttribute("data-t")) ?? "").split(",").map(Number);
  const busy = ((await chart.locator('polyline[data-name="busy"]').getAttribute("data-v")) ?? "")
    .split(",")
    .map(Number);
  const total = ((await chart.locator('polyline[data-name="total"]').getAttribute("data-v")) ?? "")
    .split(",")
    .map(Number);
  assert.deepEqual(
    times,
    api.samples.map((s) => s.t),
  );
  assert.deepEqual(
    busy,
    api.samples.map((s) => s.slotsBusy),
  );
  assert.deepEqual(
    total,
    api.samples.map((s) => s.slotsTotal),
  );
  const points = ((await chart.locator('polyline[data-name="busy"]').getAttribute("points")) ?? "")
    .trim()
    .split(/\s+/);
  assert.equal(points.length, api.samples.length, "one drawn point per sample");
  const queue = (
    (await page.locator('svg#chart-queue polyline[data-name="waiting"]').getAttribute("data-v")) ?? ""
  )
    .split(",")
    .map(Number);
  assert.deepEqual(
    queue,
    api.samples.map((s) => s.waiting),
  );

  // Render time per frame: one bar per child.
  const svg = await (await fetch(`${coordinator.url}/jobs/${parent}/render-times.svg`)).text();
  const values = /data-v="([^"]*)"/.exec(svg)?.[1]?.split(",") ?? [];
  assert.equal(values.length, kids.length);
  assert.ok(
    values.every((v) => Number(v) >= 0 && v !== ""),
    svg.slice(0, 300),
  );

  // The client's page draws its load.
  const [client] = await hq.getClients(null, ["id"]);
  await page.goto(`${coordinator.url}/clients/${client?.id}`);
  await page.locator("svg#chart-client-load").waitFor();

  // Search from the header: a child by name, then a jump to an id.
  await page.fill("header form.search input", "FRAME 0004");
  await page.press("header form.search input", "Enter");
  await page.locator("#search-results tr.job").first().waitFor();
  const found = await page
    .locator("#search-results tr.job")
    .evaluateAll((rows) => rows.map((r) => Number(r.getAttribute("data-id"))));
  assert.deepEqual(found, [kids[3]]);
  await page.fill("header form.search input", `#${kids[1]}`);
  await page.press("header form.search input", "Enter");
  await page.waitForURL(`**/jobs/${kids[1]}`);
  assert.deepEqual(pageErrors, []);
});

test("the farm charts' default range fits the history there is: minutes on a new farm, hours on an older one", async (t) => {
  const coordinator = await startCoordinator();
  t.after(() => coordinator.stop());
  const redis = new Redis(coordinator.redisUrl);
  t.after(() => void redis.quit());
  /** The utilisation chart's range in minutes, and the labels of its ticks. */
  const range = async (query: string) => {
    const svg = await (await fetch(`${coordinator.url}/farm/utilisation.svg${query}`)).text();
    const from = Number(/data-from="(\d+)"/.exec(svg)?.[1]);
    const to = Number(/data-to="(\d+)"/.exec(svg)?.[1]);
    const ticks = [...svg.matchAll(/class="tick">\s*([^<\s]+)\s*</g)].map((m) => m[1]);
    return { minutes: Math.round((to - from) / 60_000), ticks };
  };
  // Only the coordinator's own first sample (this minute): the charts cover 5 minutes, not 24 h.
  await eventually(
    "a farm history sample",
    async () => (await redis.zcard(coordinator.keys.historyFarm)) > 0,
  );
  const fresh = await range("");
  assert.equal(fresh.minutes, 5);
  assert.deepEqual(fresh.ticks.slice(-5), ["-5m", "-3.8m", "-2.5m", "-1.3m", "now"]);
  assert.match(
    await (await fetch(`${coordinator.url}/farm`)).text(),
    /<strong>all history \(5 min\)<\/strong>/,
  );
  // A range asked for is kept (it is in the URL).
  assert.equal((await range("?hours=6")).minutes, 360);
  // A sample 3 hours old, as another coordinator would have written it: the default range reaches it.
  const old = Date.now() - 3 * 3600_000;
  await redis.zadd(coordinator.keys.historyFarm, old, [old, 1, 4, 1, 0, 0, 0, 0, 2, 1].join(","));
  const longer = await range("");
  assert.ok(Math.abs(longer.minutes - 180) <= 1, `range of ${longer.minutes} minutes`);
  assert.equal(longer.ticks.at(-5), "-3h");
});

test("the Farm page's figures are the last minute's sample (not a read of every blade), or live without a recent one", async () => {
  const coordinator = await startCoordinator({ env: { OPENHQ_HEARTBEAT_INTERVAL: "200" } });
  const redis = new Redis(coordinator.redisUrl);
  // A blade of 3 slots, so the live figures differ from every sample written here.
  const blade = await new ProtocolPeer({ serverUrl: coordinator.url, hostname: "blade", cpus: 3 }).connect();
  try {
    const farmNow = async () => {
      const page = await (await fetch(`${coordinator.url}/farm`)).text();
      return /<p class="farm-now">([\s\S]*?)<\/p>/.exec(page)?.[1]?.replace(/\s+/g, " ") ?? "";
    };
    const minute = Date.now() - (Date.now() % 60_000);
    // This minute and the next five are claimed, as by a coordinator that died before writing them: the
    // coordinator's own sampler writes nothing while the test runs.
    for (let m = minute; m <= minute + 5 * 60_000; m += 60_000)
      await redis.set(coordinator.keys.historyLock(m), "1", "PX", 10 * 60_000);
    // A sample newer than the coordinator's own start sample, as another coordinator would write it.
    const t = minute + 30_000;
    await redis.zadd(coordinator.keys.historyFarm, t, [t, 7, 9, 3, 1, 0, 0, 2, 42, 7, 1].join(","));
    const sampled = await farmNow();
    assert.match(sampled, /<strong>7 \/ 9<\/strong> CPU slots busy \(78%\) · 42 jobs waiting · 7 running/);
    assert.match(sampled, /3 busy · 1 idle · .*2 not responding · 1 quarantined/);
    assert.match(sampled, new RegExp(`at ${new Date(t).toISOString().slice(11, 16)} UTC`));
    const live =
      /<strong>0 \/ 3<\/strong> CPU slots busy \(0%\) · 0 jobs waiting · 0 running · 0 busy · 1 idle ·/;
    // The newest sample 3 minutes old (the sampler failing since): the figures are read live, and say no time.
    await redis.del(coordinator.keys.historyFarm);
    const stale = Date.now() - 3 * 60_000;
    await redis.zadd(coordinator.keys.historyFarm, stale, [stale, 7, 9, 3, 1, 0, 0, 2, 42, 7, 1].join(","));
    const afterStale = await farmNow();
    assert.match(afterStale, live);
    assert.doesNotMatch(afterStale, /UTC/);
    // No sample at all: live too.
    await redis.del(coordinator.keys.historyFarm);
    const withoutSample = await farmNow();
    assert.match(withoutSample, live);
    assert.doesNotMatch(withoutSample, /UTC/);
    // Without shares, no breakdown by user (HQueue's page had none).
    assert.doesNotMatch(await (await fetch(`${coordinator.url}/farm`)).text(), /Running by user/);
  } finally {
    blade.close();
    redis.disconnect();
    await coordinator.stop();
  }
});
