// deploy/: the install script into a temporary prefix, and `systemd-analyze verify` on the units it writes.
// Its agent role goes through deploy/install/agent.sh with the checkout's dist/install (npm run build).

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UPGRADE_EXIT_CODE } from "../shared/protocol.js";
import { python } from "./support/python.js";

const root = process.cwd();

function install(dir: string, ...args: string[]) {
  return spawnSync(
    "sh",
    [
      join(root, "deploy/install.sh"),
      "--prefix",
      join(dir, "prefix"),
      "--etc",
      join(dir, "etc"),
      "--systemd-dir",
      join(dir, "units"),
      "--logrotate-dir",
      join(dir, "logrotate"),
      "--no-user",
      "--no-start",
      ...args,
    ],
    { encoding: "utf8" },
  );
}

function systemdAnalyze(): string | null {
  const probe = spawnSync("systemd-analyze", ["--version"], { encoding: "utf8" });
  return probe.status === 0 ? null : "systemd-analyze is not installed (apt-get install systemd)";
}

test("install.sh puts a working agent install into a temporary prefix", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "openhq-install-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));

  const result = install(dir, "--server", "farm-hq", "--name", "gpu", "--token", "s3cret");
  assert.equal(result.status, 0, result.stderr + result.stdout);
  const ini = readFileSync(join(dir, "etc/hqnode.ini"), "utf8");
  assert.match(ini, /^server = http:\/\/farm-hq:5000$/m);
  assert.match(ini, /^name = gpu$/m);
  assert.match(ini, /^secret = s3cret$/m);
  assert.match(readFileSync(join(dir, "logrotate/openhq-agent"), "utf8"), /^\/var\/log\/openhq\/\*\.log/m);

  // The single-file agent runs from the prefix alone.
  const version = spawnSync(join(dir, "prefix/bin/openhq-agent"), ["--version"], { encoding: "utf8" });
  assert.equal(version.status, 0, version.stderr);
  assert.match(version.stdout, /^\d+\.\d+\.\d+/);

  const unit = readFileSync(join(dir, "units/openhq-agent.service"), "utf8");
  assert.ok(
    unit.includes(
      `ExecStart=${join(dir, "prefix")}/bin/openhq-agent --config ${join(dir, "etc")}/hqnode.ini`,
    ),
  );
  assert.match(unit, /^KillMode=control-group$/m);
  // Agent and jobs apart: the agent runs as root with only what switching to jobUser takes.
  assert.doesNotMatch(unit, /^User=/m);
  assert.match(unit, /^CapabilityBoundingSet=CAP_SETUID CAP_SETGID CAP_KILL$/m);
  assert.match(ini, /^jobUser = openhq$/m);
  assert.match(unit, /^Restart=on-failure$/m);
  assert.match(unit, new RegExp(`^RestartForceExitStatus=${UPGRADE_EXIT_CODE}$`, "m"));

  // Re-running upgrades the code and keeps an edited ini.
  writeFileSync(join(dir, "etc/hqnode.ini"), "[main]\nserver = edited\n");
  const again = install(dir, "--server", "other");
  assert.equal(again.status, 0, again.stderr);
  // ...adding the jobUser an agent running as root needs (an older install's ini has none).
  assert.equal(
    readFileSync(join(dir, "etc/hqnode.ini"), "utf8"),
    "[main]\njobUser = openhq\nserver = edited\n",
  );

  assert.equal(install(dir, "--role", "nonsense").status, 2);
  assert.equal(install(dir, "--bogus").status, 2);
});

test("systemd-analyze verify accepts the agent, coordinator and redis units", async (t) => {
  const missing = systemdAnalyze();
  if (missing) {
    t.skip(missing);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "openhq-units-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal(install(dir).status, 0);
  assert.equal(install(dir, "--role", "coordinator").status, 0);
  const units = ["openhq-agent.service", "openhq-coordinator.service", "openhq-redis.service"].map((u) =>
    join(dir, "units", u),
  );
  for (const unit of units) assert.ok(existsSync(unit), `${unit} missing`);
  // The coordinator logs to the journal (journalctl -u openhq-coordinator), not to a file.
  assert.doesNotMatch(readFileSync(units[1] ?? "", "utf8"), /^Standard(Output|Error)=/m);
  // Its install holds the production packages only, and its CLI runs from the prefix alone.
  const lib = join(dir, "prefix/lib/openhq/node_modules");
  assert.ok(existsSync(join(lib, "ioredis")) && !existsSync(join(lib, "typescript")));
  const help = spawnSync(join(dir, "prefix/bin/openhq"), ["--help"], { encoding: "utf8" });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /usage: openhq/);
  // verify exits non-zero on errors; warnings (e.g. the openhq user not existing here) go to stderr only.
  const out = execFileSync("systemd-analyze", ["verify", ...units], { encoding: "utf8", stdio: "pipe" });
  assert.equal(out.trim(), "");
});

test("the macOS launchd plist is a valid property list that restarts the agent unless it exited cleanly", async () => {
  const plist = await python<{
    Label: string;
    UserName: string;
    KeepAlive: { SuccessfulExit: boolean };
    args: string[];
  }>(
    `import json, plistlib
d = plistlib.load(open(${JSON.stringify(join(root, "deploy/macos/com.openhq.agent.plist"))}, "rb"))
print(json.dumps({"Label": d["Label"], "UserName": d["UserName"], "KeepAlive": d["KeepAlive"], "args": d["ProgramArguments"]}))`,
  );
  assert.equal(plist.Label, "com.openhq.agent");
  assert.equal(plist.UserName, "openhq");
  assert.deepEqual(plist.KeepAlive, { SuccessfulExit: false });
  assert.deepEqual(plist.args.slice(0, 3), ["@PREFIX@/bin/openhq-agent", "--config", "@ETC@/hqnode.ini"]);
});
