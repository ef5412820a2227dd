// `openhq`'s rough edges, each against a real coordinator (and a real agent where jobs must run): a bad
// --server, an unknown client, a closed pipe, tail -f of a failed job, submit --wait naming failed children,
// the jobs filters, job --tree and the submit overrides.

import { test } from "node:test";
import assert from "node:assert/strict";
import { openhqCommandLine, runCommand, specFile, type Run } from "./support/cli.js";
import { agentlessFarm, oneAgentFarm } from "./support/one-agent-farm.js";

const CLI = openhqCommandLine();
const bash = (script: string, env: Record<string, string>) => runCommand("bash", ["-c", script], env);

function openhq(server: string, args: string[]): Promise<Run> {
  const quoted = args.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
  return runCommand("bash", ["-c", `${CLI} ${quoted}`], { HQSERVER: server });
}

test("openhq without jobs running: bad --server, unknown client, closed pipe, jobs filters, submit overrides, --tree", async (t) => {
  const { coordinator, hq } = await agentlessFarm(t);
  const url = coordinator.url;

  const bad = await openhq(url, ["--server", "127.0.0.1:5000", "ping"]);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /did you mean --server http:\/\/127\.0\.0\.1:5000/);
  assert.doesNotMatch(bad.stderr, /Invalid URL/);

  const nobody = await openhq(url, ["disable", "nosuchclient"]);
  assert.equal(nobody.code, 4, nobody.stdout);
  assert.match(nobody.stderr, /no such client: nosuchclient/);
  assert.doesNotMatch(nobody.stdout, /disabled: nosuchclient/);

  // Overrides on a command submission; a host that does not exist keeps the jobs waiting.
  const sub = await openhq(url, [
    "submit",
    "--json",
    "--name",
    "shot 030 comp",
    "--cpus",
    "3",
    "--tags",
    "nuke,comp",
    "--group",
    "gpu",
    "--priority",
    "5",
    "--env",
    "SHOT=030",
    "--env",
    "A=b=c",
    "--",
    "true",
  ]);
  assert.equal(sub.code, 0, sub.stderr);
  const subId = (JSON.parse(sub.stdout) as { roots: number[] }).roots[0] as number;
  const job = await hq.getJob(subId, ["cpus", "tags", "priority", "environment", "conditions"]);
  assert.equal(job.cpus, 3);
  assert.deepEqual(job.tags, ["nuke", "comp"]);
  assert.equal(job.priority, 5);
  assert.deepEqual(job.environment, { SHOT: "030", A: "b=c" });
  assert.match(JSON.stringify(job.conditions), /gpu/);
  assert.equal((await openhq(url, ["submit", "--env", "NOEQUALS", "--", "true"])).code, 2);

  // jobs --user / --name
  const [other] = await hq.newjob({
    name: "shot 040 fx",
    submittedBy: "zoe",
    command: "true",
    host: "nowhere",
  });
  const mine = await openhq(url, ["jobs", "--json", "--user", "zo"]);
  assert.deepEqual(
    (JSON.parse(mine.stdout) as { id: number }[]).map((j) => j.id),
    [other],
  );
  const named = await openhq(url, ["jobs", "--json", "--name", "030 COMP"]);
  assert.deepEqual(
    (JSON.parse(named.stdout) as { id: number }[]).map((j) => j.id),
    [subId],
  );

  // job --tree
  const [root] = await hq.newjob({
    name: "shot 050",
    children: [
      {
        name: "shot 050 sim",
        command: "true",
        host: "nowhere",
        children: [{ name: "cache", command: "true", host: "nowhere" }],
      },
      { name: "shot 050 render", command: "true", host: "nowhere" },
    ],
  });
  const tree = await openhq(url, ["job", String(root), "--tree"]);
  assert.equal(tree.code, 0, tree.stderr);
  const lines = tree.stdout.trimEnd().split("\n");
  assert.equal(lines.length, 5, tree.stdout);
  assert.match(lines[1] ?? "", /^\d+\s+shot 050 /);
  assert.match(lines[2] ?? "", /^ {2}\d+\s+shot 050 sim/);
  assert.match(lines[3] ?? "", /^ {4}\d+\s+cache/);

  // A reader that leaves at once: no EPIPE stack trace, a quiet exit.
  const pipe = await bash(
    `${CLI} job ${root} 2>err.txt | true; echo "rc=\${PIPESTATUS[0]}"; cat err.txt; rm err.txt`,
    {
      HQSERVER: url,
    },
  );
  assert.match(pipe.stdout, /^rc=0\n$/, pipe.stdout);
});

test("openhq with a running farm: tail -f of a failed job exits 1; submit --wait names failed children", async (t) => {
  const { coordinator, hq } = await oneAgentFarm(t, 4);
  const url = coordinator.url;

  const [failing] = await hq.newjob({ name: "fails", command: "sleep 1; echo oops; exit 7", triesLeft: 0 });
  const tail = await openhq(url, ["tail", "-f", String(failing)]);
  assert.equal(tail.code, 1, tail.stderr);
  assert.match(tail.stdout, /oops/);
  assert.match(tail.stderr, /failed/);

  const spec = specFile(t, {
    name: "shot 060",
    children: [
      { name: "frame 1", command: "echo fine" },
      { name: "frame 2", command: "echo line a; echo missing texture >&2; exit 4", triesLeft: 0 },
      { name: "frame 3", command: "echo fine" },
    ],
  });
  const wait = await openhq(url, ["submit", "--wait", spec]);
  assert.equal(wait.code, 1, wait.stderr);
  assert.match(wait.stdout, /1 job failed:/);
  assert.match(wait.stdout, /job \d+ "frame 2" failed \(exit 4\)/);
  assert.match(wait.stdout, /\| missing texture/);
  assert.doesNotMatch(wait.stdout, /"frame 1"/);
});
