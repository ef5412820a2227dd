// shared/ini.ts and coordinator/config.ts as plain functions: the ini dialect, %(here)s, and the order
// defaults < hqserver.ini < environment < flags.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { ConfigError, loadConfig } from "../coordinator/config.js";
import { IniError, parseIni, readIni } from "../shared/ini.js";

const dir = mkdtempSync(join(tmpdir(), "openhq-config-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("sections, = and :, comments, continuation lines, DEFAULT and %(here)s / %(name)s interpolation", () => {
  const ini = parseIni(
    [
      "; a comment",
      "# another",
      "[DEFAULT]",
      "root = %(here)s/shared",
      "",
      "[server:main]",
      "port = 5000",
      "host: 0.0.0.0",
      "[app:main]",
      "hqserver.sharedNetwork.mount.linux = %(root)s/hq",
      "literal = 100%% done",
      "multi = first",
      "   second",
      "empty =",
    ].join("\n"),
    "/etc/hq",
  );
  assert.equal(ini.sections["server:main"]?.["port"], "5000");
  assert.equal(ini.sections["server:main"]?.["host"], "0.0.0.0");
  assert.equal(ini.sections["app:main"]?.["hqserver.sharedNetwork.mount.linux"], "/etc/hq/shared/hq");
  assert.equal(ini.sections["app:main"]?.["literal"], "100% done");
  assert.equal(ini.sections["app:main"]?.["multi"], "first\nsecond");
  assert.equal(ini.sections["app:main"]?.["empty"], "");
  assert.equal(ini.sections["app:main"]?.["root"], "/etc/hq/shared", "DEFAULT keys appear in every section");
});

test("errors name the line or the missing reference", () => {
  assert.throws(
    () => parseIni("[a]\nnot a pair\n", "/"),
    (e: Error) => e instanceof IniError && /line 2/.test(e.message),
  );
  assert.throws(() => parseIni("[a]\nx = %(nope)s\n", "/"), /%\(nope\)s is not defined/);
  assert.throws(() => parseIni("[a]\nx = %(x)s\n", "/"), /nest too deep/);
});

test("readIni resolves %(here)s to the file's folder", () => {
  const path = join(dir, "node.ini");
  writeFileSync(path, "[main]\nlogs = %(here)s/logs\n");
  assert.equal(readIni(path).sections["main"]?.["logs"], `${dir}/logs`);
});

test("hqserver.ini keys become settings; env beats the file; flags beat env", () => {
  const path = join(dir, "hqserver.ini");
  writeFileSync(
    path,
    [
      "[server:main]",
      "port = 5100",
      "[app:main]",
      "hqserver.activeTimeout = 3",
      "hqserver.expireJobsDays = 7",
      "hqserver.sharedNetwork.mount.linux = /mnt/hq",
      "hqserver.sharedNetwork.mount.windows = H:",
      "hqserver.sharedNetwork.host = fileserver",
      "hqserver.sharedNetwork.path = hq/shared",
      "job_logs_dir = %(here)s/job_logs",
      "openhq.prefix = farm:",
      "openhq.heartbeatIntervalMs = 2000",
      "openhq.agentToken = s3cret",
    ].join("\n"),
  );
  const fromFile = loadConfig(["--config", path], {});
  assert.equal(fromFile.port, 5100);
  assert.equal(fromFile.prefix, "farm:");
  assert.equal(fromFile.redis.url, null);
  assert.equal(fromFile.settings.activeTimeoutMinutes, 3);
  assert.equal(fromFile.settings.expireJobsDays, 7);
  assert.equal(fromFile.settings.heartbeatIntervalMs, 2000);
  assert.equal(fromFile.settings.farmSecret, "s3cret", "openhq.agentToken: the earlier name, still read");
  writeFileSync(join(dir, "secret.ini"), "[app:main]\nopenhq.farmSecret = n3w\nopenhq.agentToken = old\n");
  assert.equal(loadConfig(["--config", join(dir, "secret.ini")], {}).settings.farmSecret, "n3w");
  assert.equal(loadConfig([], { OPENHQ_AGENT_TOKEN: "e1" }).settings.farmSecret, "e1");
  assert.equal(
    loadConfig([], { OPENHQ_FARM_SECRET: "e2", OPENHQ_AGENT_TOKEN: "e1" }).settings.farmSecret,
    "e2",
  );
  assert.deepEqual(fromFile.settings.sharedNetworkMount, { linux: "/mnt/hq", windows: "H:" });
  assert.equal(fromFile.settings.sharedNetworkHost, "fileserver");
  assert.equal(fromFile.settings.raw["job_logs_dir"], `${dir}/job_logs`);
  assert.equal(fromFile.settings.raw["app:main.job_logs_dir"], `${dir}/job_logs`);

  const env = {
    OPENHQ_CONFIG: path,
    OPENHQ_PORT: "5200",
    REDIS_URL: "redis://r:6379/2",
    OPENHQ_PREFIX: "env:",
  };
  const fromEnv = loadConfig([], env);
  assert.equal(fromEnv.configPath, path);
  assert.equal(fromEnv.port, 5200);
  assert.equal(fromEnv.redis.url, "redis://r:6379/2");
  assert.equal(fromEnv.prefix, "env:");

  const fromFlags = loadConfig(
    ["--port", "5300", "--redis", "rediss://x:1", "--prefix", "f:", "--data", dir],
    env,
  );
  assert.equal(fromFlags.port, 5300);
  assert.equal(fromFlags.redis.url, "rediss://x:1");
  assert.equal(fromFlags.prefix, "f:");
  assert.equal(fromFlags.dataDir, dir);
});

test("sentinels come from the config; bad values are ConfigErrors naming the key", () => {
  const c = loadConfig([], { OPENHQ_REDIS_SENTINELS: "s1:26379, s2", OPENHQ_REDIS_NAME: "farm" });
  assert.deepEqual(c.redis.sentinels, [
    { host: "s1", port: 26379 },
    { host: "s2", port: 26379 },
  ]);
  assert.equal(c.redis.sentinelName, "farm");
  assert.throws(
    () => loadConfig(["--port", "http"], {}),
    (e: Error) => e instanceof ConfigError && /^port:/.test(e.message),
  );
  assert.throws(
    () => loadConfig(["--redis", "localhost:6379"], {}),
    (e: Error) => /^redis:/.test(e.message),
  );
  assert.throws(() => loadConfig(["--bogus"], {}), ConfigError);
  assert.throws(() => loadConfig(["--config", join(dir, "missing.ini")], {}), /missing\.ini/);
});

test("openhq.stallTimeout: off by default, seconds when set, a ConfigError naming it when bad", () => {
  assert.equal(loadConfig([], {}).settings.stallTimeout, 0);
  assert.equal(loadConfig([], { OPENHQ_STALL_TIMEOUT: "1800" }).settings.stallTimeout, 1800);
  for (const bad of ["-1", "ten", "1.5", "2592001"]) {
    assert.throws(
      () => loadConfig([], { OPENHQ_STALL_TIMEOUT: bad }),
      (e: Error) => e instanceof ConfigError && /stallTimeout/.test(e.message),
      bad,
    );
  }
});

test("openhq.maxLostAttempts and openhq.frozenTimeout: defaults, bounds, ConfigErrors naming them", () => {
  const plain = loadConfig([], {}).settings;
  assert.equal(plain.maxLostAttempts, 3);
  assert.equal(plain.frozenTimeoutSeconds, 0);
  assert.equal(loadConfig([], { OPENHQ_MAX_LOST_ATTEMPTS: "5" }).settings.maxLostAttempts, 5);
  assert.equal(loadConfig([], { OPENHQ_FROZEN_TIMEOUT: "30" }).settings.frozenTimeoutSeconds, 30);
  for (const bad of ["0", "-1", "three", "101"])
    assert.throws(
      () => loadConfig([], { OPENHQ_MAX_LOST_ATTEMPTS: bad }),
      (e: Error) => e instanceof ConfigError && /maxLostAttempts/.test(e.message),
      bad,
    );
  // Below two heartbeat intervals and a second (11 s by default) a healthy agent would lose its frames.
  for (const bad of ["5", "-1", "3601", "x"])
    assert.throws(
      () => loadConfig([], { OPENHQ_FROZEN_TIMEOUT: bad }),
      (e: Error) => e instanceof ConfigError && /frozenTimeout/.test(e.message),
      bad,
    );
});

test("deploy/hqserver.ini.example reads cleanly", () => {
  const c = loadConfig(["--config", "deploy/hqserver.ini.example"], {});
  assert.equal(c.port, 5000);
  assert.equal(c.redis.url, null);
  assert.equal(c.settings.sharedNetworkMount["windows"], "H:");
  assert.equal(c.settings.raw["hqserver.upgradePriority"], "100");
});
