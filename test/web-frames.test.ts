// The frame table in a real browser (Debian's Chromium through playwright-core) on a real farm: a parent with
// 1,000 children, 20 of which succeed and 10 fail on a real agent (the rest wait for a host that does not
// exist). Sort, filter, a bulk priority change of a selection, a bulk "reschedule failed" that re-runs exactly
// the failed frames, and the jobs list refreshing live with the tree expanded.

import { test } from "node:test";
import assert from "node:assert/strict";
import type { JobSpec } from "../shared/client/index.js";
import { browser, skippedWithoutChromium } from "./support/browser.js";
import { oneAgentFarm } from "./support/one-agent-farm.js";
import { until } from "./support/eventually.js";

test("frame table of a 1,000-child parent: sort, filter, bulk priority, reschedule exactly the failed frames, live tree", async (t) => {
  if (skippedWithoutChromium(t)) return;
  const { coordinator, hq } = await oneAgentFarm(t, 4);

  const children: JobSpec[] = Array.from({ length: 1000 }, (_, i) => {
    const name = `shot 020 frame ${String(i + 1).padStart(4, "0")}`;
    if (i < 20) return { name, command: "true" };
    if (i < 30) return { name, command: "echo bad frame; exit 3", triesLeft: 0 };
    return { name, command: "true", host: "no-such-host" };
  });
  const ids = await hq.newjob({ name: "shot 020", children });
  const parent = ids[0] as number;
  const kids = (await hq.getJob(parent, ["children"])).children as number[];
  assert.equal(kids.length, 1000);
  const good = kids.slice(0, 20);
  const bad = kids.slice(20, 30);
  const waiting = kids.slice(30);
  await until(
    "20 frames to succeed and 10 to fail",
    async () => (await hq.getJobs([...good, ...bad], ["status"])).map((j) => j?.status),
    (s) => s.filter((x) => x === "succeeded").length === 20 && s.filter((x) => x === "failed").length === 10,
  );

  const context = await browser(t, { timezoneId: "Europe/Berlin" });
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on("pageerror", (err) => pageErrors.push(err.message));
  page.on("dialog", (dialog) => void dialog.accept());

  await page.goto(`${coordinator.url}/jobs/${parent}`);
  const table = page.locator("#frames");
  await table.waitFor();
  assert.match(await page.locator("#job-head").innerText(), /20 done · 10 failed/);
  assert.equal(await table.locator("tr.frame").count(), 100);
  assert.match(await table.locator(".pager").innerText(), /1000 frames · page 1 of 10/);
  // Times in the viewer's zone, zone shown.
  await page.locator("#frames time[data-local]").first().waitFor();
  assert.match(await page.locator("#frames time").first().innerText(), /CET|GMT\+1/);

  // Filter: failed only -> exactly the 10 failed frames, each with its exit code and host.
  await table.locator(".frame-filters a", { hasText: /^failed$/ }).click();
  await page.locator('#frames[data-query="fstatus=failed"]').waitFor();
  const failedRows = page.locator("#frames tr.frame");
  assert.equal(await failedRows.count(), 10);
  assert.deepEqual(
    (await failedRows.evaluateAll((rows) => rows.map((r) => Number(r.getAttribute("data-id"))))).sort(
      (a, b) => a - b,
    ),
    bad,
  );
  assert.deepEqual(new Set(await page.locator("#frames tr.frame td.exit").allInnerTexts()), new Set(["3"]));
  assert.ok((await failedRows.first().locator("td").nth(4).innerText()).trim() !== "", "host label shown");

  // Sort: id descending over all frames.
  await page.locator(".frame-filters a", { hasText: /^all$/ }).click();
  await page.locator('#frames[data-query=""]').waitFor();
  await page.locator('#frames th[data-sort="id"] a').click();
  await page.locator('#frames[data-query="fdir=desc"]').waitFor();
  assert.equal(Number(await page.locator("#frames tr.frame").first().getAttribute("data-id")), kids[999]);
  // Sort: duration descending -> started frames first, non-increasing.
  await page.locator('#frames th[data-sort="duration"] a').click();
  await page.locator('#frames[data-query="fsort=duration"]').waitFor();
  await page.locator('#frames th[data-sort="duration"] a').click();
  await page.locator('#frames[data-query="fsort=duration&fdir=desc"]').waitFor();
  const seconds = (
    await page
      .locator("#frames td.duration")
      .evaluateAll((cells) => cells.map((c) => c.getAttribute("data-seconds") ?? ""))
  ).slice(0, 30);
  assert.ok(
    seconds.every((s) => s !== ""),
    "the 30 frames that ran come first",
  );
  const numbers = seconds.map(Number);
  assert.deepEqual(
    numbers,
    [...numbers].sort((a, b) => b - a),
  );

  // Multi-select + bulk priority on two waiting frames.
  await page.goto(`${coordinator.url}/jobs/${parent}?fstatus=runnable`);
  const rows = page.locator("#frames tr.frame");
  await rows.first().waitFor();
  const picked = [
    Number(await rows.nth(0).getAttribute("data-id")),
    Number(await rows.nth(1).getAttribute("data-id")),
  ];
  await rows.nth(0).locator("input.sel").check();
  await rows.nth(1).locator("input.sel").check();
  await page.locator("#frames .bulk-count", { hasText: "2 selected" }).waitFor();
  await page.fill("#frames .bulk-priority", "7");
  await page.locator('#frames button[data-method="setJobPriority"]').click();
  await until(
    "the bulk priority",
    async () => (await hq.getJobs(picked, ["priority"])).map((j) => j?.priority),
    (p) => p.every((x) => x === 7),
  );
  const others = await hq.getJobs(waiting.filter((id) => !picked.includes(id)).slice(0, 50), ["priority"]);
  assert.ok(
    others.every((j) => j?.priority === 0),
    "only the selection changed",
  );

  // Bulk "reschedule failed": exactly the 10 failed frames run again (attempt 2), nothing else moves.
  const before = await hq.getJobs(kids, ["attempt"]);
  await page.locator("#frames button.reschedule-failed").click();
  await until(
    "the failed frames to run a second time",
    async () => await hq.getJobs(bad, ["attempt", "status"]),
    (rows2) => rows2.every((j) => j?.attempt === 2 && j.status === "failed"),
  );
  const after = await hq.getJobs(kids, ["attempt"]);
  kids.forEach((id, i) => {
    const expected = bad.includes(id) ? 2 : before[i]?.attempt;
    assert.equal(after[i]?.attempt, expected, `job ${id} attempts`);
  });

  // The jobs list keeps refreshing with the tree expanded (and stays expanded).
  await page.goto(`${coordinator.url}/jobs`);
  const parentRow = page.locator(`tr.job[data-id="${parent}"]`);
  await parentRow.locator("button.toggle").click();
  const child = page.locator(`tr.job[data-id="${waiting[0]}"]`);
  await child.waitFor();
  assert.match(await page.locator("#jobs-table").innerText(), /800 more children/);
  await hq.cancelJobs([waiting[0] as number]);
  await page.locator(`tr.job[data-id="${waiting[0]}"] .badge`, { hasText: "cancelled" }).waitFor();
  assert.equal(await parentRow.locator("button.toggle").getAttribute("aria-expanded"), "true");
  assert.deepEqual(pageErrors, []);
});
