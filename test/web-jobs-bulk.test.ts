// Bulk actions across jobs on the jobs list (issue 20 item 5), in a real browser on a real coordinator with
// access control on: filter by user, select all, pause — the user's 3 roots (and their frames) pause, another
// user's job does not, and the audit log names the admin who did it from the browser. Shift-click ticks a
// range, "Select all matching" takes every job of the filter, and a read-only login's bulk pause is refused
// and changes nothing, as a job page's single Pause is.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { browser, skippedWithoutChromium } from "./support/browser.js";
import { ADMIN, guardedCoordinator, VIEWER } from "./support/logins.js";
import { until } from "./support/eventually.js";

const SHOTS = "/work/notes/shots";

test("jobs list: bulk pause of one user's jobs across 3 roots, shift-range, select all matching, read-only refused", async (t) => {
  if (skippedWithoutChromium(t)) return;
  const { coordinator, admin } = await guardedCoordinator(t);
  const root = (user: string, n: number) => ({
    name: `${user} shot ${n}`,
    submittedBy: user,
    children: [1, 2].map((f) => ({ name: `${user} shot ${n} f${f}`, command: "true" })),
  });
  const [alices] = await admin.newjob(root("alice", 1));
  const bobs: number[] = [];
  for (const n of [1, 2, 3]) bobs.push((await admin.newjob(root("bob", n)))[0] ?? 0);
  const statusOf = async (ids: number[]) =>
    (await admin.getJobs(ids, ["status"])).map((j) => String(j?.status));

  mkdirSync(SHOTS, { recursive: true });
  const context = await browser(t, { httpCredentials: ADMIN });
  const page = await context.newPage();
  page.on("dialog", (dialog) => void dialog.accept());
  await page.goto(`${coordinator.url}/jobs?submitter=bob`);
  await page.locator("#jobs-table tr.job").nth(2).waitFor();
  assert.equal(await page.locator("#jobs-table tr.job").count(), 3);
  await page.locator("#jobs-table input.select-jobs").check();
  await page.locator(".job-bulk .job-count", { hasText: "3 selected" }).waitFor();
  await page.screenshot({ path: `${SHOTS}/jobs-bulk-selected.png` });
  await page.locator('.job-bulk button[data-method="pauseJobs"]').click();
  await page.locator("#flash.ok", { hasText: "Pause 3 jobs: done" }).waitFor();
  await until(
    "bob's 3 roots to pause",
    () => statusOf(bobs),
    (s) => s.every((x) => x === "paused"),
  );
  const frames = (await admin.getJobs(bobs, ["children"])).flatMap((j) => j?.children as number[]);
  assert.deepEqual(new Set(await statusOf(frames)), new Set(["paused"]));
  assert.deepEqual(await statusOf([alices ?? 0]), ["queued"]);
  const audit = await admin.call<{ entries: { user: string; via: string; ids: number[] }[] }>("getAuditLog", {
    method: "pauseJobs",
  });
  assert.equal(audit.entries.length, 1);
  assert.equal(audit.entries[0]?.user, ADMIN.username);
  assert.equal(audit.entries[0]?.via, "browser");
  assert.deepEqual([...(audit.entries[0]?.ids ?? [])].sort(), [...bobs].sort());
  await page.locator("#jobs-table tr.job .badge", { hasText: "paused" }).nth(2).waitFor();
  await page.screenshot({ path: `${SHOTS}/jobs-bulk-paused.png` });

  // Shift-click ticks the range between two boxes: the newest three of the 4 roots, then a priority for them.
  await page.goto(`${coordinator.url}/jobs`);
  const boxes = page.locator("#jobs-table tr.job input.jsel");
  await boxes.nth(3).waitFor();
  await boxes.nth(0).click();
  await boxes.nth(2).click({ modifiers: ["Shift"] });
  await page.locator(".job-bulk .job-count", { hasText: "3 selected" }).waitFor();
  await page.locator(".job-bulk .job-priority").fill("7");
  await page.locator('.job-bulk button[data-method="setJobPriority"]').click();
  await page.locator("#flash.ok", { hasText: "Set priority 3 jobs: done" }).waitFor();
  const priorities = await admin.getJobs([...bobs, alices ?? 0], ["priority"]);
  assert.deepEqual(
    priorities.map((j) => j?.priority),
    [7, 7, 7, 0],
  );

  // "Select all matching" takes every job of the filter, beyond the page: the ids come from /jobs.json.
  await page.goto(`${coordinator.url}/jobs?submitter=bob&per=25`);
  await page.locator("#jobs-table tr.job").nth(2).waitFor();
  await page.locator(".job-bulk button.select-matching").click();
  await page.locator(".job-bulk .job-count", { hasText: "3 selected" }).waitFor();
  await page.locator('.job-bulk button[data-method="resumeJobs"]').click();
  await page.locator("#flash.ok", { hasText: "Resume 3 jobs: done" }).waitFor();
  await until(
    "bob's roots to resume",
    () => statusOf(bobs),
    (s) => s.every((x) => x !== "paused"),
  );

  // A read-only login sees the bar, but its bulk pause is refused by the API and changes nothing.
  const viewer = await browser(t, { httpCredentials: VIEWER });
  const readonly = await viewer.newPage();
  await readonly.goto(`${coordinator.url}/jobs?submitter=bob`);
  await readonly.locator("#jobs-table tr.job").nth(2).waitFor();
  await readonly.locator("#jobs-table input.select-jobs").check();
  await readonly.locator('.job-bulk button[data-method="pauseJobs"]').click();
  await readonly.locator("#flash.error", { hasText: "read-only" }).waitFor();
  assert.ok((await statusOf(bobs)).every((s) => s !== "paused"));
});
