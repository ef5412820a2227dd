// Shareable views (issue 20 item 7), in a real browser: a URL with filters and sorts restores the view — the
// jobs list (user filter, sort by name), a parent's frame table (status filter, sort) and the Clients page
// (state filter) — and a click on a frame filter puts the view into the address bar, where the back button
// finds the view before it.

import { test } from "node:test";
import assert from "node:assert/strict";
import { browser, skippedWithoutChromium } from "./support/browser.js";
import { ProtocolPeer } from "./support/protocol-peer.js";
import { agentlessFarm } from "./support/one-agent-farm.js";

test("a URL with filters and sorts restores the view; frame filters go into the address bar and back", async (t) => {
  if (skippedWithoutChromium(t)) return;
  const { coordinator, hq } = await agentlessFarm(t);
  for (const [name, user] of [
    ["carrot", "bob"],
    ["apple", "bob"],
    ["banana", "bob"],
    ["cherry", "alice"],
  ])
    await hq.newjob({ name: name ?? "", submittedBy: user ?? "", command: "true" });
  const [parent] = await hq.newjob({
    name: "shot 100",
    children: ["f1", "f2", "f3", "f4"].map((f) => ({ name: `shot 100 ${f}`, command: "true" })),
  });
  const kids = (await hq.getJob(parent ?? 0, ["children"])).children as number[];
  await hq.pauseJobs([kids[0] ?? 0, kids[2] ?? 0]);
  const peers = await Promise.all(
    ["blade01", "blade02"].map((name) =>
      new ProtocolPeer({ serverUrl: coordinator.url, hostname: "vm", name, mode: "hold" }).connect(),
    ),
  );
  t.after(() => peers.forEach((p) => p.close()));
  await hq.setdisabled("vm:blade02", true);

  const context = await browser(t);
  const page = await context.newPage();

  // The jobs list: bob's jobs by name, Z to A; the form shows the filter.
  await page.goto(`${coordinator.url}/jobs?submitter=bob&sort=name&dir=desc`);
  const names = () => page.locator("#jobs-table tr.job td.name a").allInnerTexts();
  assert.deepEqual(await names(), ["carrot", "banana", "apple"]);
  assert.equal(await page.inputValue('.filters input[name="submitter"]'), "bob");
  assert.equal(await page.locator('#jobs-table th.sorted[data-sort="name"]').count(), 1);

  // A parent's frames: the paused ones, sorted by name descending.
  await page.goto(`${coordinator.url}/jobs/${parent}?fstatus=paused&fsort=name&fdir=desc`);
  const frames = () =>
    page
      .locator("#frames tr.frame")
      .evaluateAll((rows) => rows.map((r) => Number(r.getAttribute("data-id"))));
  assert.deepEqual(await frames(), [kids[2], kids[0]]);

  // A click on a filter puts it in the address bar; back returns to the paused view.
  await page.locator(".frame-filters a", { hasText: "all" }).first().click();
  await page.waitForURL((url) => !url.search.includes("fstatus"));
  await page.locator("#frames tr.frame").nth(3).waitFor();
  assert.match(page.url(), /fsort=name/);
  await page.goBack();
  await page.waitForURL(/fstatus=paused/);
  await page.locator("#frames tr.frame").nth(1).waitFor();
  assert.deepEqual(await frames(), [kids[2], kids[0]]);

  // The Clients page: the disabled blades only.
  await page.goto(`${coordinator.url}/clients?state=disabled`);
  const clients = await page.locator("#clients-table tr[data-client]").allInnerTexts();
  assert.equal(clients.length, 1, clients.join("|"));
  assert.match(clients[0] ?? "", /blade02/);
});
