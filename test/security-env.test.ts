// Job environments carry licence keys and tokens (issue 21, item 10): with access control on, admins and
// the job's submitter read them; other users (and anonymous readers) see the names with the values masked,
// wherever `environment` is returned. With access control off, everyone reads them, as with HQueue.

import { test } from "node:test";
import assert from "node:assert/strict";
import { guardEnvironment, MASKED_VALUE } from "../coordinator/store/environment-access.js";
import { startCoordinator } from "./support/coordinator.js";
import { PRELUDE, python } from "./support/python.js";

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;

test("environment access rule: off = everyone, admin and submitter read, others get masked values", () => {
  const job = { id: "1", submittedBy: "alice" };
  const reply = () => ({ environment: { API_KEY: "k", PATH: "/bin" } });
  assert.deepEqual(guardEnvironment(reply(), job, {}).environment, { API_KEY: "k", PATH: "/bin" });
  assert.deepEqual(guardEnvironment(reply(), job, { user: "root", role: "admin" }).environment, {
    API_KEY: "k",
    PATH: "/bin",
  });
  assert.deepEqual(guardEnvironment(reply(), job, { user: "alice", role: "readonly" }).environment, {
    API_KEY: "k",
    PATH: "/bin",
  });
  const masked = { API_KEY: MASKED_VALUE, PATH: MASKED_VALUE };
  assert.deepEqual(guardEnvironment(reply(), job, { user: "bob", role: "readonly" }).environment, masked);
  assert.deepEqual(guardEnvironment(reply(), job, { role: "readonly" }).environment, masked);
  assert.deepEqual(guardEnvironment(reply(), { id: "2" }, { role: "readonly" }).environment, masked);
});

test("a read-only user sees a job's environment masked (getJob, getJobs, getinfo, multicall, dashboard); the submitter and an admin see it whole", async (t) => {
  const coordinator = await startCoordinator({
    env: {
      OPENHQ_AUTH: "on",
      OPENHQ_AUTH_ANONYMOUS: "readonly",
      OPENHQ_AUTH_USERS: "boss:admin:boss-pw alice:readonly:alice-pw bob:readonly:bob-pw",
    },
  });
  t.after(() => coordinator.stop());
  const url = coordinator.url.replace("http://", "");
  const result = await python<Record<string, unknown>>(
    `${PRELUDE}
def proxy(user):
    return xmlrpc.client.ServerProxy("http://%s@${url}" % user, allow_none=True)
boss, alice, bob = proxy("boss:boss-pw"), proxy("alice:alice-pw"), proxy("bob:bob-pw")
anon = xmlrpc.client.ServerProxy("http://${url}", allow_none=True)
[jid] = boss.newjob({"name": "licensed", "command": "sleep 600", "submittedBy": "alice",
                     "environment": {"API_KEY": "secret-licence-key", "SCENE": "/show/a.hip"}})
def views(p):
    return {
        "getJob": p.getJob(jid)["environment"],
        "getJobAttr": p.getJob(jid, ["environment"])["environment"],
        "getJobs": p.getJobs([jid], ["name", "environment"])[0]["environment"],
        "getinfo": p.getinfo(jid)["environment"],
        "multicall": p.system.multicall([{"methodName": "getJob", "params": [jid, ["environment"]]}])[0][0]["environment"],
    }
out({"jid": jid, "boss": views(boss), "alice": views(alice), "bob": views(bob), "anon": views(anon)})
`,
    { HQSERVER: coordinator.url },
  );
  const whole = { API_KEY: "secret-licence-key", SCENE: "/show/a.hip" };
  const masked = { API_KEY: "********", SCENE: "********" };
  const every = (env: object) => ({
    getJob: env,
    getJobAttr: env,
    getJobs: env,
    getinfo: env,
    multicall: env,
  });
  assert.deepEqual(result["boss"], every(whole), "admin");
  assert.deepEqual(result["alice"], every(whole), "the submitter");
  assert.deepEqual(result["bob"], every(masked), "another read-only user");
  assert.deepEqual(result["anon"], every(masked), "anonymous reader");

  // The dashboard's job page shows what the API shows the same user.
  const page = async (user: string, pass: string) =>
    (
      await fetch(`${coordinator.url}/jobs/${String(result["jid"])}`, {
        headers: { authorization: basic(user, pass) },
      })
    ).text();
  const bobPage = await page("bob", "bob-pw");
  assert.match(bobPage, /API_KEY/);
  assert.doesNotMatch(bobPage, /secret-licence-key/);
  assert.match(await page("alice", "alice-pw"), /secret-licence-key/);
});
