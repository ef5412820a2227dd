// shared/config-loader.ts as plain functions: precedence (flags > env > ini > default), what counts as
// unset, the command-line syntax, and errors naming the option and its source. Also the agent's server
// URL, which may carry a port and a scheme, against its own port option.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { loadConfig as loadAgentConfig } from "../agent/config.js";
import { ConfigError, kinds, Options } from "../shared/config-loader.js";

const dir = mkdtempSync(join(tmpdir(), "openhq-config-loader-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const TABLE = {
  port: {
    flag: "port",
    env: ["A_PORT", "B_PORT"],
    ini: ["port", "old.port"],
    kind: kinds.int(1, 9),
    default: 5,
  },
  name: { flag: "name", env: ["A_NAME"], ini: ["name"], kind: kinds.string },
  json: { flag: "json", short: "j", kind: kinds.bool, default: false },
  wait: { flag: "wait", short: "w", kind: kinds.bool, default: false },
  tag: { flag: "tag", kind: kinds.string, multiple: true },
};

function load(
  argv: string[],
  env: NodeJS.ProcessEnv = {},
  ini: Record<string, string> = {},
  positionals = false,
) {
  const options = new Options(TABLE, { argv, env, positionals });
  options.useIni(ini, "x.ini");
  return options;
}

test("flags beat env, env beats the ini file, the ini file beats the default; first env/ini name wins", () => {
  assert.equal(load([]).get("port"), 5);
  assert.equal(load([], {}, { "old.port": "4", port: "3" }).get("port"), 3);
  assert.equal(load([], { B_PORT: "7", A_PORT: "6" }, { port: "3" }).get("port"), 6);
  assert.equal(load(["--port", "8"], { A_PORT: "6" }, { port: "3" }).get("port"), 8);
  assert.equal(load(["--port=2", "--port", "9"]).get("port"), 9, "the last flag wins");
  assert.equal(load([]).get("name"), undefined);
});

test("empty env and ini values are unset; an empty flag is a value", () => {
  assert.equal(load([], { A_NAME: "" }, { name: "" }).get("name"), undefined);
  assert.equal(load(["--name="], { A_NAME: "env" }).get("name"), "");
});

test("command line: bare flags, -wj groups, repeated flags, positionals", () => {
  const o = load(["-wj", "--tag", "a", "--tag=b", "job", "7"], {}, {}, true);
  assert.equal(o.get("wait"), true);
  assert.equal(o.get("json"), true);
  assert.deepEqual(o.get("tag"), ["a", "b"]);
  assert.deepEqual(o.positionals, ["job", "7"]);
  assert.deepEqual(load([]).get("tag"), []);
  assert.throws(
    () => load(["--nope"]),
    (e: Error) => e instanceof ConfigError && /unknown option --nope/.test(e.message),
  );
  assert.throws(() => load(["--name"]), /--name needs a value/);
  assert.throws(() => load(["--json=1"]), /--json takes no value/);
  assert.throws(() => load(["stray"]), /unexpected argument stray/);
});

test("a bad value names the option and where it came from", () => {
  const where = (argv: string[], env: NodeJS.ProcessEnv, ini: Record<string, string>) => {
    try {
      load(argv, env, ini).get("port");
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.option, "port");
      return err.message;
    }
    return "no error";
  };
  assert.equal(where(["--port", "x"], {}, {}), 'port: --port must be an integer between 1 and 9, got "x"');
  assert.equal(where([], { B_PORT: "10" }, {}), 'port: B_PORT must be an integer between 1 and 9, got "10"');
  assert.equal(
    where([], {}, { "old.port": "0" }),
    'port: x.ini old.port must be an integer between 1 and 9, got "0"',
  );
  assert.equal(where(["--port", "3"], {}, { port: "bad" }), "no error", "an overridden value is not read");
});

test("agent: a server URL's port and scheme, against --server-port, by precedence and flag order", () => {
  const ini = join(dir, "hqnode.ini");
  writeFileSync(ini, "[main]\nserver = https://farm:6000\nport = 6100\n");
  const fromIni = loadAgentConfig(["--config", ini], {}, 1);
  assert.deepEqual([fromIni.server, fromIni.serverPort, fromIni.tls], ["farm", 6100, true]);
  const envHost = loadAgentConfig(["--config", ini], { OPENHQ_SERVER: "other" }, 1);
  assert.deepEqual([envHost.server, envHost.serverPort, envHost.tls], ["other", 6100, true]);
  const flags = loadAgentConfig(["--config", ini, "--server-port", "7000", "--server", "ws://h:7100"], {}, 1);
  assert.deepEqual([flags.server, flags.serverPort, flags.tls], ["h", 7100, false]);
  const reversed = loadAgentConfig(
    ["--config", ini, "--server", "ws://h:7100", "--server-port", "7000"],
    {},
    1,
  );
  assert.equal(reversed.serverPort, 7000);
  assert.throws(
    () => loadAgentConfig(["--server", "ftp://x"], {}, 1),
    /server: --server must be an http\(s\):\/\/ or ws\(s\):\/\/ URL/,
  );
});
