// Share editing on the dashboard's Farm page (issue 24), in a real browser on a real coordinator with access
// control on: an admin changes a share, defines one and removes it through the page (setShare and
// removeShare over the XML-RPC API, so the audit log names the admin), and a read-only login sees the table
// without any edit control.

import { test } from "node:test";
import assert from "node:assert/strict";
import { HQServer } from "../shared/client/index.js";
import { browser, CHROMIUM, hasChromium } from "./support/browser.js";
import { startCoordinator } from "./support/coordinator.js";

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
  if (!hasChromium()) {
    t.skip(`${CHROMIUM} is missing (apt-get install chromium)`);
    return;
  }
  const coordinator = await startCoordinator({
    env: { OPENHQ_AUTH: "on", OPENHQ_AUTH_USERS: "boss:admin:boss-pw viewer:readonly:view-pw" },
  });
  t.after(() => coordinator.stop());
  const admin = new HQServer(coordinator.url.replace("http://", "http://boss:boss-pw@"));
  t.after(() => admin.rpc.close());
  await admin.call("setShare", "lighting", { weight: 2, guarantee: 4 });
  const shares = async () => await admin.call<ShareRow[]>("getShares");
  const share = async (name: string) => (await shares()).find((s) => s.name === name);

  const context = await browser(t, { httpCredentials: { username: "boss", password: "boss-pw" } });
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
    await page.locator('#shares form.share-edit[data-share="default"] button[data-method="removeShare"]').count(),
    0,
  );

  const log = await admin.call<{ entries: AuditEntry[] }>("getAuditLog", { user: "boss", limit: 20 });
  const calls = log.entries.map((e) => `${e.method} ${e.outcome === "ok" ? "ok" : "fault"}`);
  for (const call of ["setShare ok", "setShare fault", "removeShare ok"])
    assert.ok(calls.includes(call), `audit has ${call}: ${calls.join(", ")}`);

  // A read-only login: the same table, no form and no Edit column.
  const viewer = await browser(t, { httpCredentials: { username: "viewer", password: "view-pw" } });
  const readonly = await viewer.newPage();
  await readonly.goto(`${coordinator.url}/farm`);
  await readonly.locator("#shares td", { hasText: "lighting" }).waitFor();
  assert.equal(await readonly.locator("form.share-edit").count(), 0);
  assert.equal(await readonly.locator("#shares th", { hasText: "Edit" }).count(), 0);
});
