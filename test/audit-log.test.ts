// Issue 19 item 4, the audit log: cancel, reschedule and client disable made through Python's xmlrpc.client,
// the dashboard (POST /RPC2 as its page script does, from a browser) and the `openhq` CLI each appear with
// the right user, address and caller kind; refused calls are recorded with their fault; read-only calls are
// not; secrets never reach a record (Redis or the day file); read-only users read the log (API, CLI, page)
// but only admins export it.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { HQServer } from "../shared/client/index.js";
import { encodeMethodCall, type XmlRpcValue } from "../shared/xmlrpc/index.js";
import { auditEntry, masked } from "../coordinator/audit/entry.js";
import { Fault } from "../shared/xmlrpc/types.js";
import { useCoordinator, usePeers } from "./support/coordinator-fixture.js";
import { authEnv, basicAuth, urlAs } from "./support/logins.js";
import { PRELUDE, python } from "./support/python.js";
import { programArgs } from "./support/programs.js";

const farm = useCoordinator({
  env: { ...authEnv("carol:admin:carol-pw", "dana:admin:dana-pw"), OPENHQ_HEARTBEAT_INTERVAL: "200" },
});
const peer = usePeers(() => ({ serverUrl: farm.url, mode: "hold" }));

const as = (username: string, password: string) => urlAs(farm.url, { username, password });
const basic = (username: string, password: string) => basicAuth({ username, password });
const py = <T>(user: string, password: string, code: string): Promise<T> =>
  python<T>(`${PRELUDE}\nhq = xmlrpc.client.ServerProxy("${as(user, password)}", allow_none=True)\n${code}`, {
    HQSERVER: farm.url,
  });
const cli = (user: string, password: string, ...args: string[]) =>
  execa(process.execPath, [...programArgs("cli"), "--server", as(user, password), ...args], {
    reject: false,
  });

/** A call as the dashboard's page script makes it: fetch("/RPC2") from a same-origin browser page. */
async function fromDashboard(user: string, password: string, method: string, ...params: unknown[]) {
  const res = await fetch(`${farm.url}/RPC2`, {
    method: "POST",
    headers: {
      "content-type": "text/xml",
      authorization: basic(user, password),
      origin: farm.url,
      "sec-fetch-site": "same-origin",
      "user-agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120",
    },
    body: encodeMethodCall(method, params as never[]),
  });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.doesNotMatch(text, /<fault>/, text);
}

interface Entry {
  cursor: string;
  time: string;
  user: string;
  address: string;
  via: string;
  method: string;
  ids: number[];
  args: unknown[];
  outcome: "ok" | number;
  fault?: string;
}

/** getAuditLog as the read-only user, through the TypeScript client (quicker than a Python process). */
const auditLog = (filters: Record<string, XmlRpcValue>) =>
  new HQServer(as("viewer", "view-pw")).call<{ entries: Entry[]; next: string }>("getAuditLog", filters);

test("cancel, reschedule and disable through Python, the dashboard and the CLI are recorded with their user", async () => {
  const blade = await peer({ hostname: "blade-audit" });
  const [pyJob, webJob, cliJob] = await py<number[]>(
    "boss",
    "boss-pw",
    `ids = [hq.newjob({"name": n, "command": "true", "environment": {"API_TOKEN": "s3cret-value"}})[0]
       for n in ("py", "web", "cli")]
hq.rescheduleJobs([ids[0]])
hq.cancelJobs([ids[0]])
hq.setdisabled("blade-audit", True)
out(ids)`,
  );
  await fromDashboard("dana", "dana-pw", "rescheduleJobs", [webJob]);
  await fromDashboard("dana", "dana-pw", "cancelJobs", [webJob]);
  await fromDashboard("dana", "dana-pw", "setdisabled", "blade-audit", false);
  for (const args of [
    ["reschedule", String(cliJob)],
    ["cancel", String(cliJob)],
    ["disable", "blade-audit"],
  ]) {
    const run = await cli("carol", "carol-pw", ...args);
    assert.equal(run.exitCode, 0, run.stderr);
  }
  // A read-only user's attempt is recorded too, refused.
  const refused = await py<unknown>("viewer", "view-pw", `out(fault(hq.cancelJobs, [${cliJob}]))`);
  assert.match(JSON.stringify(refused), /403/);

  const { entries } = await auditLog({ limit: 1000 });
  const seen = (user: string, method: string) =>
    entries.filter((e) => e.user === user && e.method === method);
  for (const [user, via, job] of [
    ["boss", "python", pyJob],
    ["dana", "browser", webJob],
    ["carol", "openhq-cli", cliJob],
  ] as const) {
    for (const method of ["rescheduleJobs", "cancelJobs"]) {
      const [entry] = seen(user, method);
      assert.ok(entry, `${user} ${method}: ${JSON.stringify(entries)}`);
      assert.deepEqual(entry.ids, [job]);
      assert.equal(entry.via, via);
      assert.equal(entry.outcome, "ok");
      assert.match(entry.address, /127\.0\.0\.1/);
    }
    const [disable] = seen(user, "setdisabled");
    assert.ok(disable, `${user} setdisabled`);
    assert.equal(disable.args[0], "blade-audit");
  }
  const [denied] = seen("viewer", "cancelJobs");
  assert.equal(denied?.outcome, 403);
  assert.match(denied?.fault ?? "", /read-only/);
  // newjob names the jobs it made; the environment's values are masked, names kept.
  const made = seen("boss", "newjob");
  assert.deepEqual(made.map((e) => e.ids[0]).sort(), [pyJob, webJob, cliJob].sort());
  assert.doesNotMatch(JSON.stringify(entries), /s3cret-value/);
  assert.match(JSON.stringify(made[0]?.args), /"API_TOKEN":"\*\*\*"/);
  // Read-only calls are not recorded.
  assert.ok(!entries.some((e) => e.method.startsWith("get")), JSON.stringify(entries.map((e) => e.method)));
  // Newest first.
  assert.ok(entries.every((e, i) => i === 0 || e.time <= (entries[i - 1] as Entry).time));

  // Filters: user and method; a limit pages with `next`.
  const carol = await auditLog({ user: "carol", method: "cancelJobs" });
  assert.deepEqual(
    carol.entries.map((e) => e.ids),
    [[cliJob]],
  );
  const page = await auditLog({ limit: 2 });
  assert.equal(page.entries.length, 2);
  const rest = await auditLog({ limit: 2, before: page.next });
  assert.equal(rest.entries[0]?.cursor, entries[2]?.cursor);
  assert.match(
    JSON.stringify(await py("viewer", "view-pw", `out(fault(hq.getAuditLog, {"limit": 0}))`)),
    /limit/,
  );
  assert.match(
    JSON.stringify(await py("viewer", "view-pw", `out(fault(hq.getAuditLog, {"color": 1}))`)),
    /unknown member/,
  );

  // The CLI as a read-only user.
  const listed = await cli("viewer", "view-pw", "audit", "--since", "1h", "--user", "carol");
  assert.equal(listed.exitCode, 0, listed.stderr);
  assert.match(listed.stdout, /carol .*cancelJobs +\d+ +ok/);
  assert.doesNotMatch(listed.stdout, /boss|dana/);
  const disables = await auditLog({ method: "setdisabled" });
  assert.deepEqual(disables.entries.map((e) => e.user).sort(), ["boss", "carol", "dana"]);

  // The dashboard page for a read-only user; the export for admins only.
  const page2 = await fetch(`${farm.url}/audit?user=dana`, {
    headers: { authorization: basic("viewer", "view-pw") },
  });
  const html = await page2.text();
  assert.equal(page2.status, 200);
  assert.match(html, /rescheduleJobs/);
  assert.doesNotMatch(html, /carol-pw|boss-pw|s3cret/);
  assert.doesNotMatch(html, /audit\.jsonl/);
  const viewerExport = await fetch(`${farm.url}/audit.jsonl`, {
    headers: { authorization: basic("viewer", "view-pw") },
  });
  assert.equal(viewerExport.status, 403);
  const exported = await fetch(`${farm.url}/audit.jsonl?within=3600`, {
    headers: { authorization: basic("boss", "boss-pw") },
  });
  assert.equal(exported.status, 200);
  const lines = (await exported.text())
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Entry);
  assert.ok(lines.length >= entries.length);

  // The day file beside the job logs holds the same records (written within about a second).
  const file = join(
    tmpdir(),
    "openhq-test-job-logs",
    farm.coordinator.prefix.replace(/[^A-Za-z0-9_.-]/g, "_"),
    "audit",
    `${new Date().toISOString().slice(0, 10)}-${hostname().replace(/[^A-Za-z0-9_.-]/g, "_")}.jsonl`,
  );
  const deadline = Date.now() + 15_000;
  let text = "";
  while (Date.now() < deadline) {
    text = await readFile(file, "utf8").catch(() => "");
    if (text.split("\n").filter(Boolean).length >= entries.length) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const records = text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Entry);
  assert.ok(
    records.some((r) => r.user === "carol" && r.method === "cancelJobs"),
    text,
  );
  assert.doesNotMatch(text, /s3cret-value/);
  blade.close();
});

test("a record masks secrets and stays bounded whatever the arguments", () => {
  assert.deepEqual(
    masked({ name: "x", password: "pw", farmToken: "t", environment: { KEY: "v" }, deep: [[[[["leaf"]]]]] }),
    { name: "x", password: "***", farmToken: "***", environment: { KEY: "***" }, deep: [[["…"]]] },
  );
  const huge = auditEntry(
    {
      user: undefined,
      address: "10.0.0.7",
      via: "python",
      method: "newjob",
      params: [Array(5000).fill({ command: "x".repeat(5000) })],
    },
    new Fault(409, "y".repeat(10_000)),
  );
  assert.equal(huge.user, "anonymous");
  assert.equal(huge.outcome, 409);
  assert.ok(JSON.stringify(huge).length < 5000, String(JSON.stringify(huge).length));
});
