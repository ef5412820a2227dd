// Password guessing (issue 21, item 8): failed logins are throttled per address and per user, and logged
// with control characters escaped; passwords are stored as salted scrypt hashes (`openhq hash-password`),
// plain ones still work with a warning at start.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { request } from "node:http";
import { promisify } from "node:util";
import { AuthConfigError, loadAuth } from "../coordinator/auth.js";
import { hashPassword as hashWithLibrary } from "../shared/password-hash.js";
import { addressKey, FailureBudget } from "../coordinator/login-throttle.js";
import { startCoordinator } from "./support/coordinator.js";
import { TEST_FARM_SECRET } from "./support/farm-secret.js";
import { PRELUDE, python } from "./support/python.js";
import { programArgs } from "./support/programs.js";

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;

/** `openhq hash-password` as a user runs it, the password on standard input. */
async function hashPassword(password: string): Promise<string> {
  const run = promisify(execFile);
  const child = run(process.execPath, [...programArgs("cli"), "hash-password"]);
  child.child.stdin?.end(`${password}\n`);
  return (await child).stdout.trim();
}

/** One XML-RPC getVersion from a chosen loopback source address; resolves the HTTP status. */
function call(url: string, from: string, authorization: string): Promise<number> {
  const body = "<?xml version='1.0'?><methodCall><methodName>getVersion</methodName><params/></methodCall>";
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/RPC2`,
      {
        method: "POST",
        localAddress: from,
        agent: false,
        headers: { authorization, "content-type": "text/xml", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

test("login settings: scrypt hashes parsed, plain passwords warned about, throttle options range-checked, tables bounded", async () => {
  const warnings: string[] = [];
  const hash = await hashPassword("s3cret pass");
  assert.match(hash, /^scrypt:16384:8:1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
  const auth = loadAuth(
    { "openhq.auth": "on", "openhq.auth.users": `boss:admin:${hash} old:readonly:plain-pw` },
    {},
    (line) => warnings.push(line),
  );
  assert.equal(auth.enabled, true);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? "", /"old".*without a salted hash.*openhq hash-password/);
  assert.doesNotMatch(warnings[0] ?? "", /boss/);

  assert.throws(
    () => loadAuth({ "openhq.auth.failuresPerAddress": "0" }, {}),
    (err: Error) =>
      err instanceof AuthConfigError && /openhq\.auth\.failuresPerAddress.*1 to 10000/.test(err.message),
  );
  assert.throws(
    () => loadAuth({}, { OPENHQ_AUTH_FAILURES_PER_USER: "many" }),
    /openhq\.auth\.failuresPerUser/,
  );
  assert.throws(
    () => loadAuth({ "openhq.auth.users": "x:admin:scrypt:3:8:1:AAAA:BBBB" }, {}),
    /password of x: scrypt N must be a power of two/,
  );

  // However many addresses fail, the table keeps the most recent ones only.
  const budget = new FailureBudget(10, 100);
  for (let i = 0; i < 5000; i++) budget.fail(`10.0.${i >> 8}.${i & 255}`, 0);
  assert.equal(budget.size, 100);
  for (let i = 0; i < 10; i++) budget.fail("attacker", 0);
  assert.equal(budget.spent("attacker", 0), true);
  assert.equal(budget.spent("attacker", 6_000), false, "refilled: one more try after 6 s at 10/min");
  // An IPv6 host owns its /64: every address in it counts as one.
  assert.equal(addressKey("2001:db8:1:2:aaaa::1"), addressKey("2001:db8:1:2::ffff"));
  assert.equal(addressKey("::ffff:192.0.2.7"), "192.0.2.7");
});

test("password guessing is throttled per address, logged escaped; the real user gets in from elsewhere; scrypt and plain passwords work", async (t) => {
  const hash = await hashPassword("boss-pw");
  // Carol logs in only after the guessing run, so her credentials are not remembered from before.
  const carol = await hashWithLibrary("carol-pw");
  const coordinator = await startCoordinator({
    env: {
      OPENHQ_AUTH: "on",
      OPENHQ_AUTH_USERS: `boss:admin:${hash} viewer:readonly:view-pw carol:admin:${carol}`,
    },
  });
  t.after(() => coordinator.stop());
  assert.match(coordinator.output(), /password of "viewer" is stored without a salted hash/);

  // Python's ServerProxy with either kind of stored password (before the guessing run from the same address).
  const url = coordinator.url.replace("http://", "");
  const result = await python<Record<string, unknown>>(
    `${PRELUDE}
boss = xmlrpc.client.ServerProxy("http://boss:boss-pw@${url}", allow_none=True)
viewer = xmlrpc.client.ServerProxy("http://viewer:view-pw@${url}", allow_none=True)
ids = boss.newjob({"name": "hashed", "command": "true"})
out({"boss": boss.getJob(ids[0], ["name"])["name"], "viewer": viewer.getJob(ids[0], ["name"])["name"]})
`,
    { HQSERVER: coordinator.url },
  );
  assert.deepEqual(result, { boss: "hashed", viewer: "hashed" });
  // A forged log line in a user name stays on its own line.
  assert.equal(await call(coordinator.url, "127.0.0.1", basic("x\nFORGED line", "p")), 401);
  // The guesser: 10 failures a minute are allowed, then the address is refused without checking.
  const statuses: number[] = [];
  const started = Date.now();
  for (let i = 0; i < 40; i++)
    statuses.push(await call(coordinator.url, "127.0.0.1", basic("carol", `guess${i}`)));
  const checked = statuses.filter((s) => s === 401).length;
  const refused = statuses.filter((s) => s === 429).length;
  const seconds = (Date.now() - started) / 1000;
  assert.ok(checked <= 9 + Math.ceil(seconds / 6), `${checked} guesses checked in ${seconds} s`);
  assert.equal(checked + refused, 40, statuses.join(","));
  // Even the right password is not checked from the throttled address (its header was never verified).
  assert.equal(await call(coordinator.url, "127.0.0.1", basic("carol", "carol-pw")), 429);
  // The real user, from another address, gets in: per-user budget (30/min) is not spent by one guesser.
  assert.equal(await call(coordinator.url, "127.0.0.2", basic("carol", "carol-pw")), 200);
  // Once verified, the same credentials are remembered: they work from the throttled address too.
  assert.equal(await call(coordinator.url, "127.0.0.1", basic("carol", "carol-pw")), 200);

  // Agents fetching install files with the farm secret are no failed logins of their address.
  for (let i = 0; i < 12; i++) {
    const res = await fetch(`${coordinator.url}/install/agent.sh`, {
      headers: { authorization: basic("openhq-agent", TEST_FARM_SECRET) },
    });
    await res.arrayBuffer();
    assert.ok(res.status !== 401 && res.status !== 429, `install file with the farm secret: ${res.status}`);
  }

  const log = coordinator.output();
  assert.doesNotMatch(log, /failed login \(user "openhq-agent"/);
  assert.match(log, /failed login \(user "carol"\) from "127\.0\.0\.1"/);
  assert.match(log, /address throttled for \d+ s/);
  assert.match(log, /user "x\\u000aFORGED line", unknown/);
  assert.doesNotMatch(log, /^FORGED/m);

  const page = await fetch(`${coordinator.url}/jobs?status=all`, {
    headers: { authorization: basic("boss", "boss-pw") },
  });
  assert.equal(page.status, 200);
});
