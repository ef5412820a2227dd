// getConfig, getHQRoot, getVersion, getServerTime, ping through Python against a coordinator reading an
// hqserver.ini.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { useCoordinator } from "./support/coordinator-fixture.js";

const dir = mkdtempSync(join(tmpdir(), "openhq-config-api-"));
const ini = join(dir, "hqserver.ini");

const { py } = useCoordinator(() => {
  writeFileSync(
    ini,
    [
      "[server:main]",
      "port = 5000",
      "[app:main]",
      "hqserver.sharedNetwork.mount.linux = /mnt/hq",
      "hqserver.sharedNetwork.mount.windows = H:",
      "hqserver.sharedNetwork.mount.macosx = /Volumes/HQShared",
      "hqserver.sharedNetwork.host = fileserver",
      "hqserver.sharedNetwork.path = /export/hq",
      "job_logs_dir = %(here)s/job_logs",
      "email_to = ops@example.com",
      "openhq.agentToken = s3cret",
    ].join("\n"),
  );
  return { args: ["--config", ini] };
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

test("getConfig returns the ini value or None", async () => {
  const r = await py<unknown[]>(`
out([hq.getConfig("job_logs_dir"), hq.getConfig("email_to"), hq_strict.getConfig("hqserver.sharedNetwork.mount.linux"),
     hq.getConfig("port"), hq.getConfig("no.such.key"), fault(hq.getConfig),
     hq.getConfig("openhq.agentToken"), hq.getConfig("app:main.openhq.agentToken")])
`);
  assert.equal(r[0], `${dir}/job_logs`);
  assert.equal(r[1], "ops@example.com");
  assert.equal(r[2], "/mnt/hq");
  assert.equal(r[3], "5000");
  assert.equal(r[4], null);
  assert.match((r[5] as { faultString: string }).faultString, /^key:/);
  assert.deepEqual(r.slice(6), [null, null], "secrets are not served");
});

test("getHQRoot: mount per platform, the UNC path for windows clients, None for other platforms", async () => {
  const r = await py<unknown[]>(`
out([hq.getHQRoot("linux"), hq.getHQRoot("macosx", False), hq.getHQRoot("windows"), hq.getHQRoot("windows", True),
     hq_strict.getHQRoot("windows", False), hq.getHQRoot("solaris"), hq.getHQRoot("linux", None)])
`);
  assert.deepEqual(r, [
    "/mnt/hq",
    "/Volumes/HQShared",
    "\\\\fileserver\\export\\hq",
    "\\\\fileserver\\export\\hq",
    "H:",
    null,
    "/mnt/hq",
  ]);
});

test("ping, getVersion and getServerTime (naive UTC)", async () => {
  const [ping, strictPing, version, time] = await py<[boolean, boolean, string, { dateTime: string }]>(`
out([hq.ping(), hq_strict.ping(), hq.getVersion(), hq.getServerTime()])
`);
  assert.equal(ping, true);
  assert.equal(strictPing, true);
  const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };
  assert.equal(version, pkg.version);
  const m = /^(\d{4})(\d\d)(\d\d)T(\d\d:\d\d:\d\d)$/.exec(time.dateTime);
  assert.ok(m, time.dateTime);
  const server = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}Z`);
  assert.ok(Math.abs(server - Date.now()) < 5 * 60_000, "server time is UTC");
});
