// Editing where a job may run from its page (issue 20 item 4), in a real browser: a job on a group no blade is
// in says so ("no blade is in group gpu_blades"); its conditions edited to none make it wait for a free client
// like any other; "only these clients" puts a client list in their place (savePermittedClientsList). The new
// setJobConditions extension refuses a bad condition with a Fault naming the field and changes nothing.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Fault } from "../shared/client/index.js";
import { browser, skippedWithoutChromium } from "./support/browser.js";
import { ProtocolPeer } from "./support/protocol-peer.js";
import { until } from "./support/eventually.js";
import { agentlessFarm } from "./support/one-agent-farm.js";

test("job page: conditions and permitted clients edited; setJobConditions refuses bad input", async (t) => {
  const { coordinator, hq } = await agentlessFarm(t);
  // A registered blade that takes nothing (disabled), so the job stays queued and its reason is judged.
  const peer = await new ProtocolPeer({
    serverUrl: coordinator.url,
    hostname: "vm",
    name: "blade01",
    mode: "hold",
  }).connect();
  t.after(() => peer.close());
  await hq.setdisabled("vm:blade01", true);
  const [id] = await hq.newjob({
    name: "needs gpus",
    command: "true",
    conditions: [{ type: "client", name: "group", op: "==", value: "gpu_blades" }],
  });
  const job = id ?? 0;
  const waitingFor = () => hq.getJob(job, ["waitingFor"]).then((j) => String(j.waitingFor));
  await until("the missing group's reason", waitingFor, (w) => w === "no blade is in group gpu_blades");

  // Bad input: a Fault naming the field, and the conditions stay.
  const bad = await hq
    .setJobConditions(job, [{ type: "client", name: "group", op: "near" as "==", value: "x" }])
    .then(
      () => null,
      (err: unknown) => err,
    );
  assert.ok(bad instanceof Fault, String(bad));
  assert.match(bad.faultString, /conditions\[0\]\.op: unknown operator "near"/);
  assert.equal(((await hq.getJob(job, ["conditions"])).conditions as unknown[]).length, 1);

  if (skippedWithoutChromium(t)) return;
  const context = await browser(t);
  const page = await context.newPage();
  await page.goto(`${coordinator.url}/jobs/${job}`);
  await page.locator("#job-side", { hasText: "no blade is in group gpu_blades" }).waitFor();
  await page.locator(".edit-conditions summary").click();
  assert.match(await page.inputValue(".conditions-form textarea"), /"gpu_blades"/);
  await page.fill(".conditions-form textarea", "[]");
  // The page reloads after a save.
  const reloaded = page.waitForEvent("load");
  await page.click(".conditions-form button");
  await reloaded;
  await until(
    "the conditions to go",
    () => hq.getJob(job, ["conditions"]).then((j) => j.conditions?.length ?? 0),
    (n) => n === 0,
  );
  await until("the job to wait for a free client", waitingFor, (w) => !w.includes("gpu_blades"));

  await page.locator(".edit-conditions summary", { hasText: "none: any client" }).click();
  await page.fill(".permitted-form input", "vm:blade01, vm:blade02");
  await page.click(".permitted-form button");
  const permitted = await until(
    "the permitted clients",
    () => hq.getPermittedClientsList(job),
    (list) => list.includes("vm:blade02"),
  );
  assert.deepEqual(permitted, ["vm:blade01", "vm:blade02"]);
});
