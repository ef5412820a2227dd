// Bad blades with real processes (docs/DESIGN.md "Bad blades"): a coordinator, two good agents and one whose
// hqnode.ini [job_environment] points every frame at a mount it lacks. Retries avoid the blade that failed
// them, it is blocklisted per job tree and then quarantined with its failures as the reason; released, it
// takes work again. The API extensions are called through Python's xmlrpc.client, bad input gets Faults.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { startAgent } from "./support/agent.js";
import { startCoordinator } from "./support/coordinator.js";
import { py, waitFinished } from "./support/farm-kit.js";
import { programArgs } from "./support/programs.js";
import { eventually } from "./support/eventually.js";

function hqnodeIni(sceneRoot: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), "openhq-hqnode-"));
  const path = join(dir, "hqnode.ini");
  writeFileSync(path, `[job_environment]\nSCENE_ROOT = ${sceneRoot}\n`);
  return ["--config", path];
}

/** The `openhq` CLI against the coordinator: its standard output. */
async function openhq(server: string, ...args: string[]): Promise<string> {
  const run = await promisify(execFile)(process.execPath, [...programArgs("cli"), ...args], {
    env: { ...process.env, HQSERVER: server },
  });
  return run.stdout;
}

// A frame needs its scene mount; the bad blade's points nowhere.
const FRAME = `test -d "$SCENE_ROOT" || { echo "no such mount: $SCENE_ROOT"; exit 3; }; sleep 0.3`;

function frames(name: string, n: number, command: string): string {
  const kids = Array.from(
    { length: n },
    (_, i) => `{"name": "${name} f${i + 1}", "command": ${JSON.stringify(command)}, "triesLeft": 1}`,
  );
  return `{"name": "${name}", "children": [${kids.join(", ")}]}`;
}

test("a blade that fails every frame: retries go elsewhere, it is blocklisted, quarantined with a reason, and released", async (t) => {
  const coord = await startCoordinator();
  t.after(() => coord.stop());
  // The bad blade registers first, so it is free first, as in the issue.
  const bad = await startAgent({
    serverUrl: coord.url,
    name: "bad",
    cpus: 1,
    args: hqnodeIni("/nonexistent/mount"),
  });
  t.after(() => bad.stop());
  const goods = await Promise.all(
    ["good1", "good2"].map((name) =>
      startAgent({ serverUrl: coord.url, name, cpus: 1, args: hqnodeIni(tmpdir()) }),
    ),
  );
  for (const g of goods) t.after(() => g.stop());
  const badId = await eventually("three clients", async () => {
    const clients = await py<{ id: number; name: string }[]>(
      coord.url,
      `out(hq.getClients(None, ["id", "name"]))`,
    );
    return clients.length === 3 ? clients.find((c) => c.name === "bad")?.id : undefined;
  });

  const roots = await py<number[]>(
    coord.url,
    `out(hq.newjob([${frames("shotA", 15, FRAME)}, ${frames("shotB", 15, FRAME)}]))`,
  );
  const kids = await py<number[]>(
    coord.url,
    `out([c for r in ${JSON.stringify(roots)} for c in hq.getJob(r)["children"]])`,
  );
  assert.equal(kids.length, 30);
  const statuses = await waitFinished(coord.url, [...kids, ...roots], 120);
  assert.deepEqual(
    Object.entries(statuses).filter(([, s]) => s !== "succeeded"),
    [],
    "every frame and both parents succeed",
  );

  const seen = await eventually(
    "the bad blade quarantined",
    async () => {
      const r = await py<{
        health: Record<string, unknown>;
        client: Record<string, unknown>;
        errors: { total?: number; errors?: Record<string, unknown>[] };
        attempts: Record<string, unknown>[];
        blocklists: { jobId: number; clients: { clientId: number; failures: number; blocked: boolean }[] }[];
      }>(
        coord.url,
        `out({"health": hq.getClientHealth(${badId}), "client": hq.getClient(${badId}, ["quarantined", "latestNote"]),
  "errors": hq.getClientErrors(${badId}), "attempts": hq.getClientAttempts(${badId}, 200),
  "blocklists": [hq.getJobBlocklist(r) for r in ${JSON.stringify(roots)}]})`,
      );
      return r.health["quarantined"] === true ? r : undefined;
    },
    30_000,
  );
  const reason = seen.health["reason"] as {
    why: string;
    failures: { job: number; exit: number; last: string }[];
  };
  assert.match(reason.why, /failed frames of 2 jobs/);
  assert.ok(reason.failures.length >= 4, JSON.stringify(reason));
  for (const f of reason.failures) {
    assert.equal(f.exit, 3);
    assert.match(f.last, /no such mount: \/nonexistent\/mount/);
  }
  assert.equal(seen.client["quarantined"], true);
  assert.match(String(seen.client["latestNote"]), /^Quarantined: /, "a note on the client's thread");
  assert.ok((seen.errors.total ?? 0) >= 4, "getClientErrors answers the failures it recorded");
  assert.ok(seen.attempts.some((a) => a["event"] === "quarantined"));
  const failed = seen.attempts.filter((a) => a["result"] === "failed");
  assert.ok(failed.length >= 4 && failed.every((a) => a["exit"] === 3 && typeof a["ms"] === "number"));
  // Each tree blocklisted the bad blade after 2 failures; a failed frame never ran twice on it.
  for (const b of seen.blocklists) {
    const mine = b.clients.find((c) => c.clientId === badId);
    assert.ok(mine?.blocked, JSON.stringify(b));
  }
  const failedJobs = failed.map((a) => a["job"]);
  assert.equal(new Set(failedJobs).size, failedJobs.length, "a retry avoids the blade that just failed it");

  // The CLI shows it too.
  assert.match(await openhq(coord.url, "clients"), /\bbad\b.*\bquarantined\b/);
  const health = await openhq(coord.url, "health", String(badId));
  assert.match(health, /quarantined until .*\n\s+why: .*failed frames of 2 jobs/);
  assert.match(health, /no such mount/);
  assert.match(await openhq(coord.url, "history", String(badId), "--limit", "5"), /quarantined: /);

  // Quarantined: new work goes to the good blades only.
  const more = await py<number[]>(coord.url, `out(hq.newjob([${frames("shotC", 4, "sleep 0.2")}]))`);
  await waitFinished(coord.url, more, 60);
  const during = await py<Record<string, unknown>[]>(coord.url, `out(hq.getClientAttempts(${badId}, 5))`);
  assert.equal(during[0]?.["event"], "quarantined", "the quarantined blade took nothing");

  // Released by an admin: it takes work again at once.
  assert.equal(await py<boolean>(coord.url, `out(hq.releaseClient(${badId}))`), true);
  const released = await py<Record<string, unknown>>(coord.url, `out(hq.getClientHealth(${badId}))`);
  assert.equal(released["quarantined"], false);
  const after = await py<number[]>(coord.url, `out(hq.newjob([${frames("shotD", 6, "sleep 1")}]))`);
  await waitFinished(coord.url, after, 60);
  const back = await py<Record<string, unknown>[]>(coord.url, `out(hq.getClientAttempts(${badId}, 10))`);
  assert.ok(
    back.some((a) => a["result"] === "succeeded"),
    `the released blade ran a frame: ${JSON.stringify(back)}`,
  );

  // Clearing a tree's blocklist, through the API and the CLI.
  const cleared = await py<number>(coord.url, `out(hq.clearJobBlocklist(${roots[0]}))`);
  assert.equal(cleared, 1);
  assert.match(await openhq(coord.url, "unblock", String(roots[1]), String(badId)), /1 blade\(s\) taken off/);
  const list = await py<{ clients: unknown[] }>(coord.url, `out(hq.getJobBlocklist(${kids[0]}))`);
  assert.deepEqual(list.clients, [], "any job of the tree names its blocklist");
});
