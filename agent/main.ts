#!/usr/bin/env node
// openhq-agent: the render-node daemon. Reads hqnode.ini, environment and flags (agent/config.ts), then runs
// the agent until terminate(), upgrade or a signal. SIGTERM/SIGINT kill running jobs' processes and exit;
// a second signal exits at once.

import { availableParallelism } from "node:os";
import { Agent } from "./agent.js";
import { INSTALL_DIR, VERSION } from "../shared/version.js";
import { loadConfig, USAGE } from "./config.js";
import { createLogger } from "./log.js";
import { JobAccountError } from "./job-account.js";
import { StateDirError } from "./state-dir.js";
import { TlsDowngradeError } from "./tls-pin.js";

async function main(): Promise<void> {
  if (process.argv.includes("--help") || process.argv.includes("-h")) {
    process.stdout.write(USAGE);
    return;
  }
  if (process.argv.includes("--version")) {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  let config;
  try {
    config = loadConfig(process.argv.slice(2), process.env, availableParallelism());
  } catch (err) {
    if (!(err instanceof Error)) throw err;
    process.stderr.write(`openhq-agent: ${err.message}\n`);
    process.exit(2);
  }
  const log = createLogger(config.logFile, config.logFile === null || config.logToStderr);
  let agent;
  try {
    agent = new Agent(config, log, {
      version: VERSION,
      installDir: INSTALL_DIR,
      exit: (code) => process.exit(code),
    });
  } catch (err) {
    if (!(err instanceof JobAccountError)) throw err;
    process.stderr.write(`openhq-agent: ${err.message}\n`);
    process.exit(2);
  }
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
  if (err instanceof TlsDowngradeError) {
    process.stderr.write(`openhq-agent: ${err.message}\n`);
    process.exit(2);
  }
  if (err instanceof StateDirError) {
    process.stderr.write(`openhq-agent: state folder refused: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`openhq-agent: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
