// `openhq` as a wrangler uses it (issue 20, item 9), against a real coordinator with protocol peers as
// blades (and a real agent where a command must run): per-command help and one-line usage errors, short
// client names, `jobs --all --name` finding children, `job ID` status first, no-op operations failing,
// and a single-string submit run through the job's shell.

import { test } from "node:test";
import assert from "node:assert/strict";
import { openhq } from "./support/cli.js";
import { ProtocolPeer } from "./support/protocol-peer.js";
import { eventually } from "./support/eventually.js";
import { agentlessFarm, oneAgentFarm } from "./support/one-agent-farm.js";

test("openhq: command help, short usage errors, short client names, jobs --all --name, job ID, no-ops", async (t) => {
  const { coordinator, hq } = await agentlessFarm(t);
  const url = coordinator.url;
  const peers = await Promise.all(
    [
      ["vm", "blade03"],
      ["vm", "blade07"],
      ["vm2", "blade07"],
    ].map(([hostname, name]) => new ProtocolPeer({ serverUrl: url, hostname, name, mode: "hold" }).connect()),
  );
  t.after(() => peers.forEach((p) => p.close()));

  // Per-command help; usage errors are one line naming that help.
  const help = await openhq(url, ["submit", "--help"]);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /submit SPEC\.json/);
  assert.doesNotMatch(help.stdout, /rotate-secret/);
  assert.equal((await openhq(url, ["help", "jobs"])).code, 0);
  const badFlag = await openhq(url, ["jobs", "--frobnicate"]);
  assert.equal(badFlag.code, 2);
  assert.equal(badFlag.stderr.trimEnd().split("\n").length, 1, badFlag.stderr);
  assert.match(badFlag.stderr, /frobnicate.*openhq jobs --help/);
  const badCommand = await openhq(url, ["frobnicate"]);
  assert.equal(badCommand.code, 2);
  assert.match(badCommand.stderr, /^openhq: unknown command: frobnicate \(see `openhq --help`\)\n$/);
  const badArgs = await openhq(url, ["cancel", "abc"]);
  assert.equal(badArgs.code, 2);
  assert.match(badArgs.stderr, /not a job id: abc \(see `openhq cancel --help`\)/);

  // A name unique among the clients is enough; an ambiguous one is refused, naming the candidates.
  const disabled = await openhq(url, ["disable", "blade03"]);
  assert.equal(disabled.code, 0, disabled.stderr);
  assert.match(disabled.stdout, /disabled: vm:blade03/);
  assert.equal((await hq.getClient(peers[0]?.clientId ?? 0, ["disabled"])).disabled, true);
  assert.equal((await openhq(url, ["enable", "blade03"])).code, 0);
  assert.equal((await hq.getClient(peers[0]?.clientId ?? 0, ["disabled"])).disabled, false);
  const ambiguous = await openhq(url, ["disable", "blade07"]);
  assert.equal(ambiguous.code, 2);
  assert.match(ambiguous.stderr, /blade07 is ambiguous: vm:blade07, vm2:blade07/);
  assert.equal((await openhq(url, ["history", "blade03"])).code, 0);

  // jobs --all --name finds children; without --all (unfinished roots) a miss says so and exits 4.
  const [root, ...kids] = await hq.newjob({
    name: "shot 070",
    children: [
      { name: "shot 070 f0230", command: "true", host: "nowhere" },
      { name: "shot 070 f0231", command: "true", host: "nowhere" },
    ],
  });
  const found = await openhq(url, ["jobs", "--all", "--name", "F0230", "--json"]);
  assert.equal(found.code, 0, found.stderr);
  assert.deepEqual(
    (JSON.parse(found.stdout) as { id: number }[]).map((j) => j.id),
    [kids[0]],
  );
  await assert.rejects(hq.searchJobNames(""), /text: expected 1 to 200 characters/);
  await assert.rejects(hq.searchJobNames("x".repeat(201)), /text: expected 1 to 200 characters/);
  const missed = await openhq(url, ["jobs", "--name", "f0230"]);
  assert.equal(missed.code, 4);
  assert.match(missed.stderr, /no job named \*f0230\* among unfinished root jobs/);

  // job ID: what the job is doing first.
  const shown = await openhq(url, ["job", String(root)]);
  assert.equal(shown.code, 0, shown.stderr);
  const keys = shown.stdout
    .split("\n")
    .slice(1, 5)
    .map((l) => l.split(/\s+/)[0]);
  assert.deepEqual(keys, ["id", "name", "status", "uiStatus"]);

  // Status words: a parent whose children wait is "waiting", one whose children run "rendering N of M";
  // the API keeps HQueue's statuses.
  assert.match(shown.stdout, /\nstatus\s+queued \(waiting\)\n/);
  const [busy] = await hq.newjob({
    name: "shot 080",
    children: Array.from({ length: 4 }, (_, i) => ({ name: `shot 080 f${i}`, command: "true" })),
  });
  await eventually(
    "3 children of the busy job running",
    async () => (await hq.getJob(busy ?? 0, ["childCounts"])).childCounts?.running === 3,
  );
  assert.equal((await hq.getJob(busy ?? 0, ["status"])).status, "queued");
  const words = await openhq(url, ["jobs", "--name", "shot 0"]);
  assert.match(words.stdout, /shot 080\s+rendering 3 of 4 /);
  assert.match(words.stdout, /shot 070\s+waiting /);
  const tree = await openhq(url, ["job", String(busy), "--tree"]);
  assert.match(tree.stdout, /shot 080\s+rendering 3 of 4/);

  // No-ops say so and exit 4; nothing is sent.
  const resume = await openhq(url, ["resume", String(kids[1])]);
  assert.equal(resume.code, 4);
  assert.match(resume.stderr, /resume: nothing to do: job \d+ is runnable, not paused/);
  assert.equal((await openhq(url, ["cancel", String(root)])).code, 0);
  const eject = await openhq(url, ["eject", String(root)]);
  assert.equal(eject.code, 4);
  assert.match(eject.stderr, /eject: nothing to do: job \d+ is cancelled, not running/);
  assert.equal((await openhq(url, ["cancel", String(root)])).code, 4);
  // Some jobs would change: they do, the others are named.
  const [waiting] = await hq.newjob({ name: "w", command: "true", host: "nowhere" });
  const mixed = await openhq(url, ["cancel", String(root), String(waiting)]);
  assert.equal(mixed.code, 0, mixed.stderr);
  assert.match(mixed.stdout, new RegExp(`cancel: ${waiting}\\n`));
  assert.match(mixed.stderr, /unchanged: job \d+ is already cancelled/);
});

test("openhq submit -- 'echo a; exit 3': one argument runs through the job's shell", async (t) => {
  const { coordinator } = await oneAgentFarm(t);
  const run = await openhq(coordinator.url, ["submit", "--wait", "--", "echo a; exit 3"]);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stdout, /failed \(exit 3\)/);
  assert.match(run.stdout, /\| a\n/);
});
