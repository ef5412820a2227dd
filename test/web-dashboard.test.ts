// The dashboard in a real browser (Debian's Chromium through playwright-core) against a real farm: submit
// with the CLI, see the job appear, watch its live output grow, cancel it from the page. Screenshots go to
// test-artifacts/ for a human to look at.

import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { HQServer } from "../shared/client/index.js";
import { startAgent } from "./support/agent.js";
import { browser, skippedWithoutChromium } from "./support/browser.js";
import { startCoordinator, type TestCoordinator } from "./support/coordinator.js";
import { guardedCoordinator, VIEWER } from "./support/logins.js";
import { programArgs } from "./support/programs.js";

const ARTIFACTS = join(process.cwd(), "test-artifacts");
const run = promisify(execFile);

async function openhq(server: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [...programArgs("cli"), "--server", server, ...args]);
  return stdout;
}

/** A coordinator for one browser test; null (the test skipped) without Chromium. */
async function dashboardCoordinator(t: TestContext): Promise<TestCoordinator | null> {
  if (skippedWithoutChromium(t)) return null;
  mkdirSync(ARTIFACTS, { recursive: true });
  const coordinator = await startCoordinator();
  t.after(() => coordinator.stop());
  return coordinator;
}

test("dashboard: a job submitted with the CLI appears, its output grows live, and Cancel on the page stops it", async (t) => {
  const coordinator = await dashboardCoordinator(t);
  if (coordinator === null) return;
  const agent = await startAgent({ serverUrl: coordinator.url, cpus: 2 });
  t.after(() => agent.stop());
  const context = await browser(t);
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on("pageerror", (err) => pageErrors.push(err.message));
  page.on("dialog", (dialog) => void dialog.accept());

  const submitted = await openhq(
    coordinator.url,
    "submit",
    "--name",
    "web-test render",
    "--",
    "sh",
    "-c",
    'i=0; while [ $i -lt 3000 ]; do i=$((i+1)); echo "frame $i rendered"; sleep 0.1; done',
  );
  const id = Number(/submitted job (\d+)/.exec(submitted)?.[1]);
  assert.ok(id > 0, submitted);

  // A job with children, to see the tree.
  const dir = mkdtempSync(join(tmpdir(), "openhq-web-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, "tree.json"),
    JSON.stringify({
      name: "shot 010",
      priority: 3,
      children: [
        { name: "shot 010 frames 1-10", command: "sleep 30" },
        { name: "shot 010 frames 11-20", command: "sleep 30" },
      ],
    }),
  );
  await openhq(coordinator.url, "submit", join(dir, "tree.json"));

  await page.goto(`${coordinator.url}/jobs`);
  const row = page.locator(`tr.job[data-id="${id}"]`);
  await row.waitFor();
  assert.match(await row.innerText(), /web-test render/);
  const parentRow = page.locator("tr.job", { hasText: "shot 010" }).first();
  await parentRow.locator("button.toggle").click();
  await page.locator("tr.job", { hasText: "shot 010 frames 11-20" }).waitFor();
  await page.screenshot({ path: join(ARTIFACTS, "web-jobs.png") });

  await row.locator("a").first().click();
  await page.waitForURL(`**/jobs/${id}`);
  const output = page.locator("#output");
  await output.filter({ hasText: "frame 3 rendered" }).waitFor();
  const shown = (await output.textContent()) ?? "";
  const early = shown.length;
  // On a loaded machine the page may open well after frame 15: wait for a frame after the last one shown.
  const last = Math.max(...[...shown.matchAll(/frame (\d+) rendered/g)].map((m) => Number(m[1])));
  await output.filter({ hasText: `frame ${last + 12} rendered` }).waitFor();
  const later = (await output.textContent())?.length ?? 0;
  assert.ok(later > early, `output grew live (${early} -> ${later} chars)`);
  assert.match((await page.locator("#output-state").textContent()) ?? "", /live/);
  await page.screenshot({ path: join(ARTIFACTS, "web-job-live.png") });

  await page.locator('button[data-method="cancelJobs"]').click();
  await page.locator('#job-head[data-status="cancelled"]').waitFor();
  await page.locator("#output-state", { hasText: "cancelled" }).waitFor();
  await page.screenshot({ path: join(ARTIFACTS, "web-job-cancelled.png") });

  const hq = new HQServer(coordinator.url);
  t.after(() => hq.rpc.close());
  assert.equal((await hq.getJob(id, ["status"])).status, "cancelled");

  // The farm pages render with the agent in them.
  await page.goto(`${coordinator.url}/clients`);
  await page.locator("#clients-table tbody tr[data-client]").first().waitFor();
  await page.screenshot({ path: join(ARTIFACTS, "web-clients.png") });
  // Availability rules are edited on the client's page.
  await page.locator("#clients-table tbody tr[data-client] a").first().click();
  await page.fill("form.rules-form textarea", '[{"type":"idle","minutes":20}]');
  await page.click('form.rules-form button[type="submit"]');
  await page.locator(".rule", { hasText: "idle ≥ 20m" }).first().waitFor();
  const [client] = await hq.getClients(null, ["availabilityRules"]);
  assert.deepEqual(client?.availabilityRules, [{ type: "idle", minutes: 20 }]);
  for (const path of ["/groups", "/resources", "/errors"]) {
    const res = await page.goto(`${coordinator.url}${path}`);
    assert.equal(res?.status(), 200, path);
  }
  assert.deepEqual(pageErrors, []);
});

test("dashboard edits go through the public API: groups and resources", async (t) => {
  const coordinator = await dashboardCoordinator(t);
  if (coordinator === null) return;
  const context = await browser(t);
  const page = await context.newPage();
  page.on("dialog", (dialog) => void dialog.accept());
  const hq = new HQServer(coordinator.url);
  t.after(() => hq.rpc.close());

  await page.goto(`${coordinator.url}/groups`);
  await page.fill('form[data-method="createClientGroup"] input', "gpu-nodes");
  await page.click('form[data-method="createClientGroup"] button');
  await page.locator("td", { hasText: "gpu-nodes" }).waitFor();
  assert.deepEqual(
    (await hq.getClientGroups()).map((g) => g.name),
    ["gpu-nodes"],
  );

  await page.goto(`${coordinator.url}/resources`);
  await page.fill('form[data-method="addResource"] input[name="0"]', "houdini-license");
  await page.fill('form[data-method="addResource"] input[name="1"]', "12");
  await page.check('form[data-method="addResource"] input[name="2"]');
  await page.click('form[data-method="addResource"] button');
  const edit = page.locator("form.resource-edit").first();
  await edit.waitFor();
  await edit.locator('input[name="amount"]').fill("20");
  await edit.locator('button[type="submit"]').click();
  await page.locator("td.num", { hasText: /^20$/ }).waitFor();
  const [resource] = await hq.getResources();
  assert.equal(resource?.name, "houdini-license");
  assert.equal(resource?.amount, 20);
  assert.equal(resource?.perMachine, true);
  await page.screenshot({ path: join(ARTIFACTS, "web-resources.png") });
});

test("dashboard with access control: a read-only login sees the live output, its Cancel is refused", async (t) => {
  if (skippedWithoutChromium(t)) return;
  const { coordinator, admin } = await guardedCoordinator(t);
  const agent = await startAgent({ serverUrl: coordinator.url, cpus: 1 });
  t.after(() => agent.stop());
  const [id] = await admin.newjob({ name: "guarded", command: "while true; do echo beat; sleep 0.2; done" });

  const context = await browser(t);
  const asViewer = await context.browser()?.newContext({ httpCredentials: VIEWER });
  const page = await (asViewer ?? context).newPage();
  page.on("dialog", (dialog) => void dialog.accept());
  await page.goto(`${coordinator.url}/jobs/${id}`);
  await page.locator("#output", { hasText: "beat" }).waitFor();
  // A read-only user sees everything but cannot cancel: the API's Fault 403 shows in the page.
  await page.locator('button[data-method="cancelJobs"]').click();
  await page.locator("#flash.error", { hasText: "read-only" }).waitFor();
  assert.equal((await admin.getJob(id ?? 0, ["status"])).status, "running");
  await page.screenshot({ path: join(ARTIFACTS, "web-readonly-refused.png") });
});
