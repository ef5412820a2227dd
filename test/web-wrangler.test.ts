// What a wrangler sees (issue 20), in a real browser (Debian's Chromium through playwright-core) on a real farm
// with a real agent: a parent whose frames run reads "rendering 2 of 2", and a parent whose frames failed for
// two reasons shows each failed frame's last error line and a failures panel grouping them by message (numbers
// and paths folded), whose click filters the table; `openhq job ID --failures` prints the same groups. The
// Clients page names what each blade renders, filters and sorts from the URL, and disables 3 blades at once.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { type JobSpec } from "../shared/client/index.js";
import { browser, skippedWithoutChromium } from "./support/browser.js";
import { oneAgentFarm } from "./support/one-agent-farm.js";
import { ProtocolPeer } from "./support/protocol-peer.js";
import { programArgs } from "./support/programs.js";
import { until } from "./support/eventually.js";
import { agentlessFarm } from "./support/one-agent-farm.js";

const SHOTS = "/tmp/wrangler-shots";

function openhq(server: string, args: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...programArgs("cli"), ...args], {
      env: { ...process.env, HQSERVER: server },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.on("close", (code) => resolve({ code, stdout }));
  });
}

test("a rendering parent, the last error of failed frames, the failures panel and job --failures", async (t) => {
  if (skippedWithoutChromium(t)) return;
  const { coordinator, hq } = await oneAgentFarm(t, 4);
  const [busy] = await hq.newjob({
    name: "shot 091",
    children: [1, 2].map((i) => ({ name: `shot 091 f${i}`, command: "sleep 60" })),
  });
  const texture = (i: number): JobSpec => ({
    name: `shot 090 f${i}`,
    command: `echo rendering; echo "ERROR: missing texture /tex/wall_00${i}.exr" >&2; exit 3`,
    triesLeft: 0,
  });
  const licence = (i: number): JobSpec => ({
    name: `shot 090 f${i}`,
    command: `echo "licence server unreachable (port 50${i})"; echo; exit 2`,
    triesLeft: 0,
  });
  const [failing] = await hq.newjob({
    name: "shot 090",
    children: [...[1, 2, 3].map(texture), ...[4, 5].map(licence), { name: "shot 090 f6", command: "true" }],
  });
  const kids = (await hq.getJob(failing ?? 0, ["children"])).children as number[];
  await until(
    "shot 090 to fail and shot 091 to render",
    async () => [
      (await hq.getJob(failing ?? 0, ["status"])).status,
      (await hq.getJob(busy ?? 0, ["childCounts"])).childCounts?.running,
    ],
    ([status, running]) => status === "failed" && running === 2,
  );
  // The failure's reason is kept on the job when its attempt ends.
  assert.equal(
    (await hq.getJob(kids[0] ?? 0, ["lastError"])).lastError,
    "ERROR: missing texture /tex/wall_001.exr",
  );
  assert.equal((await hq.getJob(kids[5] ?? 0, ["lastError"])).lastError, null);

  mkdirSync(SHOTS, { recursive: true });
  const context = await browser(t);
  const page = await context.newPage();
  await page.setViewportSize({ width: 1400, height: 900 });
  await page.goto(`${coordinator.url}/jobs`);
  await page.locator(`tr.job[data-id="${busy}"] .badge`, { hasText: "rendering 2 of 2" }).waitFor();
  await page.screenshot({ path: `${SHOTS}/jobs-rendering.png` });

  await page.goto(`${coordinator.url}/jobs/${failing}`);
  const panel = page.locator("#failures");
  await panel.waitFor();
  const groups = await panel
    .locator("tr.failure-group")
    .evaluateAll((rows) =>
      rows.map((r) => [r.getAttribute("data-count"), r.querySelector("a")?.textContent?.trim()]),
    );
  assert.deepEqual(groups, [
    ["3", "ERROR: missing texture <path>"],
    ["2", "licence server unreachable (port N)"],
  ]);
  const lastErrors = await page
    .locator('#frames tr.frame[data-status="failed"] td.last-error')
    .allInnerTexts();
  assert.equal(lastErrors.length, 5);
  assert.ok(lastErrors.includes("licence server unreachable (port 504)"), lastErrors.join("|"));
  await page.screenshot({ path: `${SHOTS}/failures-panel.png`, fullPage: true });

  // A click on a group shows exactly its frames.
  await panel.locator("a", { hasText: "licence server" }).click();
  await page.locator('#frames[data-query*="ferror="]').waitFor();
  assert.deepEqual(
    await page
      .locator("#frames tr.frame")
      .evaluateAll((rows) => rows.map((r) => Number(r.getAttribute("data-id")))),
    kids.slice(3, 5),
  );

  const cli = await openhq(coordinator.url, ["job", String(failing), "--failures"]);
  assert.equal(cli.code, 0);
  assert.match(cli.stdout, /5 failed, 2 distinct messages/);
  assert.match(cli.stdout, /\n3\s+ERROR: missing texture <path>\s+\d+,\d+,\d+\n/);
  assert.match(cli.stdout, /\n2\s+licence server unreachable \(port N\)\s+\d+,\d+\n/);
});

test("Clients page: running frames with names, user and elapsed time; filter, sort, bulk disable of 3 blades", async (t) => {
  if (skippedWithoutChromium(t)) return;
  const { coordinator, hq } = await agentlessFarm(t);
  const peers = await Promise.all(
    ["blade01", "blade02", "blade03", "spare"].map((name) =>
      new ProtocolPeer({ serverUrl: coordinator.url, hostname: "vm", name, mode: "hold" }).connect(),
    ),
  );
  t.after(() => peers.forEach((p) => p.close()));
  const spare = peers[3]?.clientId ?? 0;
  await hq.setdisabled("vm:spare", true);
  const [root] = await hq.newjob({
    name: "shot 100",
    submittedBy: "anna",
    children: [1, 2, 3].map((i) => ({ name: `f000${i}`, command: "true" })),
  });
  await until(
    "3 frames to run",
    async () => (await hq.getJob(root ?? 0, ["childCounts"])).childCounts?.running,
    (n) => n === 3,
  );

  const context = await browser(t);
  const page = await context.newPage();
  await page.setViewportSize({ width: 1400, height: 700 });
  await page.goto(`${coordinator.url}/clients`);
  const runs = page.locator("#clients-table td.running .run");
  await runs.first().waitFor();
  assert.equal(await runs.count(), 3);
  for (const text of await runs.allInnerTexts())
    assert.match(text, /^shot 100 · f000[123] · anna · \d+s · 0%$/, text);
  await page.screenshot({ path: `${SHOTS}/clients.png` });

  // Why a job waits, on the jobs list.
  const [stuck] = await hq.newjob({ name: "stuck", command: "true", host: "nowhere" });
  await page.goto(`${coordinator.url}/jobs`);
  assert.match(
    (await page.locator(`tr.job[data-id="${stuck}"] .waiting-for`).getAttribute("title")) ?? "",
    /no registered client can run this job/,
  );

  // A blade's page: what it runs, and its recent jobs by name.
  const busy = peers[0]?.clientId ?? 0;
  await page.goto(`${coordinator.url}/clients/${busy}`);
  assert.match(await page.locator("#client-running").innerText(), /shot 100 · f000\d · anna · \d+s · 0%/);
  await page.screenshot({ path: `${SHOTS}/client-page.png` });

  // Filter and sort live in the URL.
  await page.goto(`${coordinator.url}/clients?state=disabled`);
  assert.deepEqual(
    await page
      .locator("#clients-table tr[data-client]")
      .evaluateAll((rows) => rows.map((r) => r.dataset.label)),
    ["vm:spare"],
  );
  await page.goto(`${coordinator.url}/clients?name=blade&sort=name&dir=desc`);
  assert.deepEqual(
    await page
      .locator("#clients-table tr[data-client]")
      .evaluateAll((rows) => rows.map((r) => r.dataset.label)),
    ["vm:blade03", "vm:blade02", "vm:blade01"],
  );

  // Select all shown (the three blades) and disable them in one go.
  await page.locator("#clients-table input.select-clients").check();
  assert.match(await page.locator(".client-count").innerText(), /3 selected/);
  await page.locator("button.client-action", { hasText: "Disable" }).click();
  const ids = peers.slice(0, 3).map((p) => p.clientId);
  await until(
    "the three blades to be disabled",
    async () => (await hq.getClients(ids, ["disabled"])).map((c) => c.disabled),
    (d) => d.every((x) => x === true),
  );
  assert.equal((await hq.getClient(spare, ["disabled"])).disabled, true);
  await page.locator('#clients-table tr[data-state="disabled"]').nth(2).waitFor();
});
