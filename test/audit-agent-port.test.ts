// Issue 19 item 4, the audit log's agent port: calls to a real agent's port 5001 made with Python's
// xmlrpc.client (wakeup without credentials, terminate without the farm token, then with it) reach the
// coordinator's audit log through the agent's link, each with its user, address, caller kind, outcome and
// the agent it was made on; the page and getAuditLog show them.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { HQServer } from "../shared/client/index.js";
import { startAgent, type TestAgent } from "./support/agent.js";
import { useCoordinator } from "./support/coordinator-fixture.js";
import { iniArgs } from "./support/farm-kit.js";
import { TEST_FARM_SECRET } from "./support/farm-secret.js";
import { PRELUDE, python } from "./support/python.js";
import { until } from "./support/eventually.js";

const USERS = "boss:admin:boss-pw viewer:readonly:view-pw";
// With an age bound on the log (its sweep runs at start, and must spare what is recorded now).
const farm = useCoordinator({
  env: { OPENHQ_AUTH: "on", OPENHQ_AUTH_USERS: USERS, OPENHQ_HEARTBEAT_INTERVAL: "200" },
  args: iniArgs("[main]\nopenhq.audit.keepDays = 1"),
});
let agent: TestAgent | null = null;
after(async () => {
  await agent?.stop();
});

interface Entry {
  user: string;
  address: string;
  via: string;
  method: string;
  ids: number[];
  outcome: "ok" | number;
  fault?: string;
  agent?: string;
}

const viewer = () => new HQServer(farm.url.replace("http://", "http://viewer:view-pw@"));

test("wakeup and terminate on an agent's port 5001 are recorded, refused or not, with who and from where", async () => {
  agent = await startAgent({ serverUrl: farm.url, name: "audited" });
  const clients = await until(
    "the agent's client",
    () => viewer().call<{ id: number; name: string }[]>("getClients"),
    (list) => list.length === 1,
  );
  const clientId = clients[0]?.id as number;
  const port = agent.port;
  const calls = await python<[unknown, unknown, unknown]>(
    `${PRELUDE}
anon = xmlrpc.client.ServerProxy("http://127.0.0.1:${port}", allow_none=True)
ops = xmlrpc.client.ServerProxy("http://ops:${TEST_FARM_SECRET}@127.0.0.1:${port}", allow_none=True)
out([anon.wakeup(), fault(anon.terminate), ops.terminate()])`,
    { HQSERVER: farm.url },
  );
  assert.equal(calls[0], null);
  assert.equal((calls[1] as { faultCode: number }).faultCode !== undefined, true, JSON.stringify(calls));
  assert.equal(calls[2], null);

  const onAgent = await until(
    "the three calls in the audit log",
    async () =>
      (await viewer().call<{ entries: Entry[] }>("getAuditLog", { limit: 50 })).entries.filter(
        (e) => e.agent !== undefined,
      ),
    (entries) => entries.length >= 3,
  );
  // Newest first.
  const [allowed, refused, woken] = onAgent;
  assert.ok(woken && refused && allowed, JSON.stringify(onAgent));
  assert.match(woken.agent ?? "", /:audited$/);
  for (const e of onAgent) {
    assert.deepEqual(e.ids, [clientId]);
    assert.equal(e.address, "127.0.0.1");
    assert.equal(e.via, "python");
  }
  assert.deepEqual(
    [woken.method, woken.user, woken.outcome],
    ["wakeup", "anonymous", "ok"],
    JSON.stringify(woken),
  );
  assert.deepEqual([refused.method, refused.user], ["terminate", "anonymous"]);
  assert.notEqual(refused.outcome, "ok");
  assert.match(refused.fault ?? "", /farm token/);
  assert.deepEqual([allowed.method, allowed.user, allowed.outcome], ["terminate", "ops", "ok"]);
  assert.doesNotMatch(JSON.stringify(onAgent), new RegExp(TEST_FARM_SECRET));

  // The method filter finds them; the page names the agent.
  const terminates = await viewer().call<{ entries: Entry[] }>("getAuditLog", { method: "terminate" });
  assert.equal(terminates.entries.filter((e) => e.agent !== undefined).length, 2);
  const page = await (
    await fetch(`${farm.url}/audit`, {
      headers: { authorization: `Basic ${Buffer.from("viewer:view-pw").toString("base64")}` },
    })
  ).text();
  assert.match(page, /terminate\s*<span class="muted">on [^<]*:audited:5001<\/span>/);
  // The terminated agent leaves.
  assert.equal(await agent.exited, 0);
});
