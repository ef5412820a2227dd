// Bad-blade handling at its edges (docs/DESIGN.md "Bad blades"): the openhq.blade.* options have ranges and a
// bad value is a ConfigError naming the option; the API extensions answer bad input with Faults that change
// nothing (Python's xmlrpc.client); a farm with one eligible blade still runs a retry, and a blocklisted
// tree, on it, as HQueue would.

import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ConfigError, loadConfig } from "../coordinator/config.js";
import { oneAgentFarm } from "./support/one-agent-farm.js";
import { py, waitFinished } from "./support/farm-kit.js";
import { eventually } from "./support/eventually.js";

test("openhq.blade.* options: defaults, and out-of-range values are ConfigErrors naming the option", () => {
  const dir = mkdtempSync(join(tmpdir(), "openhq-blade-ini-"));
  const ini = (body: string): string[] => {
    const path = join(dir, `${Math.random()}.ini`);
    writeFileSync(path, `[main]\n${body}\n`);
    return ["--config", path];
  };
  assert.deepEqual(loadConfig(ini(""), {}).settings.blade, {
    jobFailures: 2,
    quarantineFailures: 4,
    quarantineWindowS: 1800,
    probationS: 900,
    quarantineMaxPercent: 10,
  });
  const set = loadConfig(ini("openhq.blade.jobFailures = 0\nopenhq.blade.quarantineFailures = 0"), {});
  assert.equal(set.settings.blade.jobFailures, 0);
  assert.equal(set.settings.blade.quarantineFailures, 0);
  for (const [key, value] of [
    ["openhq.blade.jobFailures", "-1"],
    ["openhq.blade.jobFailures", "101"],
    ["openhq.blade.quarantineFailures", "1"],
    ["openhq.blade.quarantineFailures", "21"],
    ["openhq.blade.quarantineWindow", "59"],
    ["openhq.blade.probation", "lots"],
    ["openhq.blade.quarantineMaxPercent", "0"],
    ["openhq.blade.quarantineMaxPercent", "101"],
  ] as const) {
    assert.throws(
      () => loadConfig(ini(`${key} = ${value}`), {}),
      (err: unknown) => err instanceof ConfigError && err.message.includes(key),
      `${key} = ${value}`,
    );
  }
});

test("one eligible blade: a failed frame is retried on it, and a blocklisted tree still runs there; bad input gets Faults", async (t) => {
  const { coordinator } = await oneAgentFarm(t, 1);
  const url = coordinator.url;
  const clientId = await eventually("the agent", async () => {
    const clients = await py<{ id: number }[]>(url, `out(hq.getClients(None, ["id"]))`);
    return clients[0]?.id;
  });
  // Each frame fails its first run and succeeds the second (a marker file per frame).
  const dir = mkdtempSync(join(tmpdir(), "openhq-flaky-"));
  const kids = Array.from({ length: 3 }, (_, i) => {
    const mark = join(dir, `f${i}`);
    return `{"name": "f${i}", "triesLeft": 1, "command": "test -e ${mark} || { touch ${mark}; exit 5; }"}`;
  });
  const [root] = await py<number[]>(
    url,
    `out(hq.newjob([{"name": "flaky", "children": [${kids.join(", ")}]}]))`,
  );
  const children = await py<number[]>(url, `out(hq.getJob(${root})["children"])`);
  const statuses = await waitFinished(url, [...children, root as number], 90);
  assert.deepEqual(new Set(Object.values(statuses)), new Set(["succeeded"]), JSON.stringify(statuses));
  const r = await py<{ list: { clients: { clientId: number; failures: number; blocked: boolean }[] } }>(
    url,
    `out({"list": hq.getJobBlocklist(${root})})`,
  );
  assert.deepEqual(
    r.list.clients,
    [{ clientId, failures: 3, blocked: true }],
    "blocklisted, yet the only blade",
  );

  const faults = await py<Record<string, { faultCode: number; faultString: string } | null>>(
    url,
    `out({
  "unknownClient": fault(hq.getClientHealth, 999999),
  "unknownName": fault(hq.getClientHealth, "no-such-host"),
  "badClient": fault(hq.releaseClient, [1]),
  "bigLimit": fault(hq.getClientAttempts, ${clientId}, 100000),
  "negativeLimit": fault(hq.getClientAttempts, ${clientId}, -1),
  "unknownJob": fault(hq.getJobBlocklist, 999999),
  "badJob": fault(hq.clearJobBlocklist, "abc"),
  "unknownBlade": fault(hq.clearJobBlocklist, ${root}, 999999),
  "missing": fault(hq.getClientHealth),
})`,
  );
  for (const [name, f] of Object.entries(faults)) assert.ok(f !== null, `${name} is a Fault`);
  assert.match(faults["unknownClient"]?.faultString ?? "", /client/);
  assert.match(faults["bigLimit"]?.faultString ?? "", /limit/);
  assert.match(faults["unknownJob"]?.faultString ?? "", /job_id/);
  const after = await py<{ list: { clients: unknown[] }; health: Record<string, unknown> }>(
    url,
    `out({"list": hq.getJobBlocklist(${root}), "health": hq.getClientHealth(${clientId})})`,
  );
  assert.equal(after.list.clients.length, 1, "the Faults changed nothing");
  assert.equal(after.health["quarantined"], false, "one tree never quarantines a blade");
  assert.equal(await py<boolean>(url, `out(hq.releaseClient(${clientId}))`), false);
});
