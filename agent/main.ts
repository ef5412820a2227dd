#!/usr/bin/env node
// openhq-agent: the render-node daemon. Reads hqnode.ini, environment and flags (agent/config.ts), then runs
// the agent until terminate(), upgrade or a signal. SIGTERM/SIGINT kill running jobs' processes and exit;
// a second signal exits at once.

import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Agent } from "./agent.js";
import { bundledVersion } from "./build-info.js";
import { ConfigError, loadConfig } from "./config.js";
import { createLogger } from "./log.js";
import { StateDirError } from "./state-dir.js";

function findInstallDir(): string {
  // The bundled agent (dist/install/openhq-agent.mjs, or lib/openhq-agent/ once installed) is its own folder.
  if (bundledVersion !== null) return dirname(fileURLToPath(import.meta.url));
  // agent/main.ts in a checkout, dist/agent/main.js when built: the install folder holds package.json.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    dir = dirname(dir);
    try {
      readFileSync(join(dir, "package.json"));
      return dir;
    } catch {
      // keep looking upwards
    }
  }
  return dirname(dirname(fileURLToPath(import.meta.url)));
}

function packageVersion(installDir: string): string {
  const pkg = JSON.parse(readFileSync(join(installDir, "package.json"), "utf8")) as { version?: string };
  return pkg.version ?? "0.0.0";
}

const USAGE = `usage: openhq-agent [--config hqnode.ini] [--server HOST|URL] [--server-port N] [--port N]
                    [--bind ADDR] [--name NAME] [--cpus N] [--state-dir DIR] [--log-file FILE]
                    [--heartbeat-interval MS] [--kill-grace MS] [--token SECRET]
       openhq-agent --version

Every flag has an hqnode.ini key and an OPENHQ_* environment variable: see deploy/hqnode.ini.example.
`;

async function main(): Promise<void> {
  if (process.argv.includes("--help") || process.argv.includes("-h")) {
    process.stdout.write(USAGE);
    return;
  }
  if (process.argv.includes("--version")) {
    process.stdout.write(`${bundledVersion ?? packageVersion(findInstallDir())}\n`);
    return;
  }
  let config;
  try {
    config = loadConfig(process.argv.slice(2), process.env, availableParallelism());
  } catch (err) {
    if (!(err instanceof ConfigError) && !(err instanceof Error)) throw err;
    process.stderr.write(`openhq-agent: ${err.message}\n`);
    process.exit(2);
  }
  const installDir = findInstallDir();
  const version = bundledVersion ?? packageVersion(installDir);
  const log = createLogger(config.logFile);
  const agent = new Agent(config, log, {
    version,
    installDir,
    exit: (code) => process.exit(code),
  });
  let signalled = false;
  const onSignal = (signal: string): void => {
    if (signalled) process.exit(1);
    signalled = true;
    log.info(`${signal} received`);
    void agent.stopNow();
  };
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));
  await agent.start();
}

main().catch((err: Error) => {
  if (err instanceof StateDirError) {
    process.stderr.write(`openhq-agent: state folder refused: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`openhq-agent: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
