// Issue 21, finding 2: jobs kept apart from their agent. A real agent running as root (as the installers'
// services run it) with `jobUser` set runs a real job that attacks it: read the token in hqnode.ini (root,
// 0600), read the credential in the state folder, write the agent's code (root, 0644) and signal the agent.
// All four fail; the job ran as the job user, in its home, and the agent lives on. Needs root (to create a
// throwaway user and switch to it) and Linux.

import { strict as assert } from "node:assert";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, test } from "node:test";
import { XmlRpcClient } from "../shared/xmlrpc/client.js";
import { startAgent } from "./support/agent.js";
import { startCoordinator } from "./support/coordinator.js";
import { TEST_FARM_SECRET } from "./support/farm-secret.js";
import { broadWriters } from "../agent/state-dir.js";
import { eventually } from "./support/eventually.js";
import { programArgs } from "./support/programs.js";

const JOB_USER = "openhq-testjob";

function cannotRun(): string | false {
  if (process.platform !== "linux") return "needs Linux (setpriv, /proc)";
  if (process.getuid?.() !== 0) return "needs root: the agent switches to a job user (run the tests as root)";
  return false;
}

/** The throwaway job user (created once, kept: useradd/userdel race with other test runs otherwise). */
function jobUser(): { uid: number; home: string } {
  if (spawnSync("id", ["-u", JOB_USER]).status !== 0) {
    const made = spawnSync(
      "useradd",
      [
        "--system",
        "--user-group",
        "--create-home",
        "--home-dir",
        `/var/lib/${JOB_USER}`,
        "--shell",
        "/usr/sbin/nologin",
        JOB_USER,
      ],
      { encoding: "utf8" },
    );
    assert.equal(made.status, 0, made.stderr);
  }
  const [, , uid, , , home] = execFileSync("getent", ["passwd", JOB_USER], { encoding: "utf8" })
    .trim()
    .split(":");
  return { uid: Number(uid), home: home ?? "" };
}

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

test(
  "a job cannot read the agent's token or credential, write its code or signal it",
  { skip: cannotRun() },
  async () => {
    const user = jobUser();
    const coordinator = await startCoordinator();
    cleanups.push(coordinator.stop);
    const client = new XmlRpcClient(coordinator.url);
    cleanups.push(() => client.close());
    // hqnode.ini as the installer writes it: in a world-readable folder, the file root's own, 0600.
    const etc = mkdtempSync(join(tmpdir(), "openhq-apart-etc-"));
    cleanups.push(() => rmSync(etc, { recursive: true, force: true }));
    chmodSync(etc, 0o755);
    const ini = join(etc, "hqnode.ini");
    writeFileSync(ini, `[main]\ntoken = ${TEST_FARM_SECRET}\njobUser = ${JOB_USER}\n`, { mode: 0o600 });
    const agent = await startAgent({
      serverUrl: coordinator.url,
      args: ["--config", ini],
      env: { OPENHQ_JOB_USER: JOB_USER },
    });
    cleanups.push(agent.stop);
    const credentialFile = join(agent.stateDir, "credential.json");
    await eventually("the agent to enroll", async () => {
      try {
        return readFileSync(credentialFile, "utf8").length > 0;
      } catch {
        return false;
      }
    });
    const credential = (JSON.parse(readFileSync(credentialFile, "utf8")) as { credential: string })
      .credential;
    const code = resolve("agent/main.ts");
    const before = readFileSync(code);

    const script = [
      'echo "who=$(id -u) home=$HOME user=$USER cwd=$(pwd)"',
      `cat '${ini}' && echo "ini=read" || echo "ini=refused"`,
      `cat '${credentialFile}' && echo "credential=read" || echo "credential=refused"`,
      `ls '${agent.stateDir}' >/dev/null && echo "state=listed" || echo "state=refused"`,
      `( : >> '${code}' ) && echo "code=written" || echo "code=refused"`,
      `kill -TERM ${agent.process.pid} && echo "signal=sent" || echo "signal=refused"`,
    ].join("\n");
    const [id] = await client.call<number[]>("newjob", { name: "attack", command: script });
    const status = await eventually("the job to end", async () => {
      const s = String(await client.call("getstatus", id!));
      return ["succeeded", "failed", "cancelled", "abandoned"].includes(s) ? s : undefined;
    });
    const output = await client.call<string>("getJobOutput", id!);
    assert.equal(status, "succeeded", output);
    assert.match(
      output,
      new RegExp(`who=${user.uid} home=${user.home} user=${JOB_USER} cwd=${user.home}`),
      output,
    );
    for (const line of [
      "ini=refused",
      "credential=refused",
      "state=refused",
      "code=refused",
      "signal=refused",
    ])
      assert.ok(output.includes(line), `${line} missing in:\n${output}`);
    assert.ok(!output.includes(TEST_FARM_SECRET), "the job saw the farm secret");
    assert.ok(!output.includes(credential), "the job saw the agent's credential");
    assert.deepEqual(readFileSync(code), before);
    // The agent is alive and still serves the farm.
    assert.equal(agent.process.exitCode, null);
    const [next] = await client.call<number[]>("newjob", { name: "after", command: "id -un" });
    await eventually(
      "the next job to succeed",
      async () => String(await client.call("getstatus", next!)) === "succeeded",
    );
    assert.equal((await client.call<string>("getJobOutput", next!)).trim(), JOB_USER);
  },
);

test(
  "an agent running as root with no jobUser refuses to start; jobUser = root must be said",
  { skip: cannotRun() },
  async () => {
    const state = mkdtempSync(join(tmpdir(), "openhq-apart-state-"));
    cleanups.push(() => rmSync(state, { recursive: true, force: true }));
    const run = spawnSync(
      process.execPath,
      [...programArgs("agent"), "--server", "127.0.0.1:9", "--state-dir", state],
      { encoding: "utf8", env: { PATH: process.env["PATH"] ?? "", HOME: "/root" }, timeout: 60_000 },
    );
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, /runs as root: give jobUser/);
  },
);

test("on Windows, a state folder that Users, Everyone or Authenticated Users may write is refused (icacls)", () => {
  const open = [
    "C:\\ProgramData\\openhq\\state NT AUTHORITY\\SYSTEM:(OI)(CI)(F)",
    "                               BUILTIN\\Administrators:(OI)(CI)(F)",
    "                               BUILTIN\\Users:(I)(OI)(CI)(M)",
    "                               Everyone:(OI)(CI)(Rc,S,RD,WD,AD)",
    "",
    "Successfully processed 1 files; Failed processing 0 files",
  ].join("\r\n");
  assert.deepEqual(broadWriters(open), ["BUILTIN\\Users", "Everyone"]);
  const closed = [
    "C:\\ProgramData\\openhq\\state NT AUTHORITY\\SYSTEM:(OI)(CI)(F)",
    "                               BUILTIN\\Administrators:(OI)(CI)(F)",
    "                               BLADE07\\openhq-agent:(OI)(CI)(M)",
    "                               BUILTIN\\Users:(OI)(CI)(RX)",
  ].join("\r\n");
  assert.deepEqual(broadWriters(closed), []);
});
