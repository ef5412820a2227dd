// Access control: off by default; when on, Basic auth on XML-RPC and the dashboard, read-only users cannot
// change anything, and Python's ServerProxy("http://user:pass@host:port") works unchanged.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { Auth, loadAuth, AuthConfigError, READ_ONLY_METHODS } from "../coordinator/auth.js";
import type { Fault } from "../shared/xmlrpc/types.js";
import { startCoordinator } from "./support/coordinator.js";
import { PRELUDE, python } from "./support/python.js";

function request(authorization?: string): IncomingMessage {
  return { headers: authorization ? { authorization } : {} } as IncomingMessage;
}
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;

test("auth settings: off by default, users from the ini or env, hashed passwords, bad entries refused", () => {
  const off = loadAuth({}, {});
  assert.equal(off.enabled, false);
  assert.deepEqual(off.check(request(), true), { ok: true, user: null });

  const digest = createHash("sha256").update("pa:ss word").digest("hex");
  const on = loadAuth(
    { "openhq.auth": "on", "openhq.auth.users": "boss:admin:boss-pw, eve:readonly:sha256:" + digest },
    {},
  );
  assert.ok(on instanceof Auth && on.enabled);
  assert.deepEqual(on.check(request(basic("boss", "boss-pw")), true), {
    ok: true,
    user: { name: "boss", role: "admin" },
  });
  assert.deepEqual(on.check(request(basic("eve", "pa:ss word")), false), {
    ok: true,
    user: { name: "eve", role: "readonly" },
  });
  assert.equal(on.check(request(basic("eve", "pa:ss word")), true).ok, false);
  assert.deepEqual(on.check(request(basic("boss", "wrong")), false), {
    ok: false,
    status: 401,
    message: "wrong user name or password",
  });
  assert.equal(on.check(request(), false).ok, false);

  // Environment wins over the ini; anonymous read-only is opt-in.
  const env = loadAuth(
    { "openhq.auth": "off" },
    { OPENHQ_AUTH: "on", OPENHQ_AUTH_USERS: "a:admin:x", OPENHQ_AUTH_ANONYMOUS: "readonly" },
  );
  assert.equal(env.check(request(), false).ok, true);
  assert.equal(env.check(request(), true).ok, false);

  assert.throws(() => loadAuth({ "openhq.auth": "on" }, {}), AuthConfigError);
  assert.throws(() => loadAuth({ "openhq.auth.users": "x:root:pw" }, {}), /admin or readonly/);
  // Cross-site browser posts cannot change anything, auth on or off; same-origin pages and scripts can.
  const post = (origin?: string) =>
    ({ headers: { host: "farm:5000", ...(origin ? { origin } : {}) } }) as unknown as IncomingMessage;
  assert.equal(off.authorize(post(), "cancelJobs", {}), true);
  assert.equal(off.authorize(post("http://farm:5000"), "cancelJobs", {}), true);
  assert.equal((off.authorize(post("https://evil.example"), "cancelJobs", {}) as Fault).faultCode, 403);
  assert.equal((off.authorize(post("null"), "newjob", {}) as Fault).faultCode, 403);
  assert.equal(off.authorize(post("https://evil.example"), "getJobs", {}), true);
  assert.ok(
    READ_ONLY_METHODS.has("getJobs") &&
      !READ_ONLY_METHODS.has("cancelJobs") &&
      !READ_ONLY_METHODS.has("newjob"),
  );
});

test("with auth on: no credentials is refused (but ping answers), read-only cannot cancel, admin can, ServerProxy with user:pass works", async (t) => {
  const coordinator = await startCoordinator({
    env: { OPENHQ_AUTH: "on", OPENHQ_AUTH_USERS: "boss:admin:boss-pw viewer:readonly:view-pw" },
  });
  t.after(() => coordinator.stop());
  const hostPort = coordinator.url.replace("http://", "");

  const result = await python<Record<string, unknown>>(
    `${PRELUDE}
anon = xmlrpc.client.ServerProxy("http://${hostPort}", allow_none=True)
viewer = xmlrpc.client.ServerProxy("http://viewer:view-pw@${hostPort}", allow_none=True)
boss = xmlrpc.client.ServerProxy("http://boss:boss-pw@${hostPort}", allow_none=True)
wrong = xmlrpc.client.ServerProxy("http://boss:nope@${hostPort}", allow_none=True)
def refused(fn, *a):
    try:
        fn(*a)
        return None
    except xmlrpc.client.Fault as f:
        return {"fault": f.faultCode}
    except xmlrpc.client.ProtocolError as e:
        return {"http": e.errcode}
ids = boss.newjob({"name": "protected", "command": "sleep 60"})
out({
  "anonNewjob": refused(anon.newjob, {"name": "x"}),
  "anonPing": refused(anon.ping),
  "wrongPassword": refused(wrong.getJob, ids[0]),
  "viewerReads": viewer.getJob(ids[0], ["name"])["name"],
  "viewerCancel": refused(viewer.cancelJobs, ids),
  "statusAfterViewer": boss.getJob(ids[0], ["status"])["status"],
  "bossCancel": refused(boss.cancelJobs, ids),
  "statusAfterBoss": boss.getJob(ids[0], ["status"])["status"],
  "multicallCancel": viewer.system.multicall([{"methodName": "cancelJobs", "params": [ids]}])[0],
})
`,
    { HQSERVER: coordinator.url },
  );
  // The shapes docs/ADMIN.md §4 promises: no credentials = Fault 401, wrong ones = HTTP 401 (ProtocolError).
  assert.deepEqual(result["anonNewjob"], { fault: 401 }, "anonymous newjob");
  assert.equal(result["anonPing"], null, "ping is a health check and needs no account");
  assert.deepEqual(result["wrongPassword"], { http: 401 }, "wrong password");
  assert.equal(result["viewerReads"], "protected");
  assert.deepEqual(result["viewerCancel"], { fault: 403 });
  assert.notEqual(result["statusAfterViewer"], "cancelled");
  assert.equal(result["bossCancel"], null);
  assert.equal(result["statusAfterBoss"], "cancelled");
  assert.equal(
    (result["multicallCancel"] as { faultCode?: number }).faultCode,
    403,
    "no cancel through multicall",
  );

  // The dashboard and /metrics ask for credentials the browser way.
  const anonymous = await fetch(`${coordinator.url}/jobs`);
  assert.equal(anonymous.status, 401);
  assert.match(anonymous.headers.get("www-authenticate") ?? "", /^Basic realm="openhq"/);
  assert.equal((await fetch(`${coordinator.url}/metrics`)).status, 401);
  const viewer = await fetch(`${coordinator.url}/jobs?status=all`, {
    headers: { authorization: basic("viewer", "view-pw") },
  });
  assert.equal(viewer.status, 200);
  assert.match(await viewer.text(), /protected/);
});

test("auth is off by default: HQueue scripts work without credentials", async (t) => {
  const coordinator = await startCoordinator();
  t.after(() => coordinator.stop());
  const result = await python<number[]>(
    `${PRELUDE}
ids = hq.newjob({"name": "open"})
hq.cancelJobs(ids)
out(ids)`,
    { HQSERVER: coordinator.url },
  );
  assert.equal(result.length, 1);
  assert.equal((await fetch(`${coordinator.url}/jobs`)).status, 200);
});
