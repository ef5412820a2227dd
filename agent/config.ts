// The agent's settings: hqnode.ini (docs/COMPAT.md §7), then environment variables, then command-line flags, each
// later source winning. The ini's [job_environment] section is added to every job's environment.

import { existsSync, readFileSync } from "node:fs";
import { homedir, hostname } from "node:os";
import { join } from "node:path";
import { readIni } from "../shared/ini.js";

export interface AgentConfig {
  /** Coordinator host name or address. */
  server: string;
  /** Coordinator port (its XML-RPC and /agent WebSocket). */
  serverPort: number;
  /** This agent's XML-RPC port (wakeup, terminate). */
  port: number;
  /** Bind address of the XML-RPC server. */
  bind: string;
  /** "" by default; several agents on one host need distinct names. */
  name: string;
  /** CPUs offered to jobs. */
  cpus: number;
  /** Running jobs' records and the output spool live here. */
  stateDir: string;
  /** null = log to stderr only. */
  logFile: string | null;
  /** HQROOT override (`sharedNetwork.mount`); null = what the coordinator says. */
  sharedNetworkMount: string | null;
  /** Variables added to every job ([job_environment]). */
  jobEnvironment: Record<string, string>;
  /** Default heartbeat period, ms; the coordinator's welcome.heartbeatInterval wins. */
  heartbeatIntervalMs: number;
  /** Time between SIGTERM and SIGKILL when a job is cancelled, ms. */
  killGraceMs: number;
  /** The farm secret sent in hello (the coordinator's openhq.agentToken); also guards terminate() on port 5001. */
  token: string | null;
  /** wss:// to the coordinator: set by an https:// or wss:// server URL. */
  tls: boolean;
  /** PEM file of the CA(s) that signed the coordinator's certificate; null = the system's CAs. */
  caFile: string | null;
}

export class AgentConfigError extends Error {}

const FLAGS: Record<string, keyof AgentConfig | "config"> = {
  "--config": "config",
  "--server": "server",
  "--server-port": "serverPort",
  "--port": "port",
  "--bind": "bind",
  "--name": "name",
  "--cpus": "cpus",
  "--state-dir": "stateDir",
  "--log-file": "logFile",
  "--heartbeat-interval": "heartbeatIntervalMs",
  "--kill-grace": "killGraceMs",
  "--token": "token",
  "--ca-file": "caFile",
};

const ENV: Record<string, keyof AgentConfig | "config"> = {
  OPENHQ_AGENT_CONFIG: "config",
  OPENHQ_SERVER: "server",
  OPENHQ_SERVER_PORT: "serverPort",
  OPENHQ_AGENT_PORT: "port",
  OPENHQ_AGENT_BIND: "bind",
  OPENHQ_AGENT_NAME: "name",
  OPENHQ_AGENT_CPUS: "cpus",
  OPENHQ_STATE_DIR: "stateDir",
  OPENHQ_AGENT_LOG_FILE: "logFile",
  OPENHQ_HEARTBEAT_INTERVAL: "heartbeatIntervalMs",
  OPENHQ_KILL_GRACE: "killGraceMs",
  OPENHQ_AGENT_TOKEN: "token",
  OPENHQ_CA_FILE: "caFile",
};

export function defaultConfig(cpuCount: number): AgentConfig {
  return {
    server: "localhost",
    serverPort: 5000,
    port: 5001,
    bind: "0.0.0.0",
    name: "",
    cpus: cpuCount,
    // Never a shared /tmp: whoever can write the state folder can make the agent signal processes.
    stateDir: join(
      process.env["XDG_STATE_HOME"] || join(homedir(), ".local", "state"),
      `openhq-agent-${hostname()}`,
    ),
    logFile: null,
    sharedNetworkMount: null,
    jobEnvironment: {},
    heartbeatIntervalMs: 5000,
    killGraceMs: 10_000,
    token: null,
    tls: false,
    caFile: null,
  };
}

/** Reads flags (`--x value` or `--x=value`) and env; returns the merged config. Throws AgentConfigError. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv, cpuCount: number): AgentConfig {
  const fromEnv: Partial<Record<keyof AgentConfig | "config", string>> = {};
  for (const [variable, key] of Object.entries(ENV)) {
    const value = env[variable];
    if (value !== undefined && value !== "") fromEnv[key] = value;
  }
  const fromFlags = parseFlags(argv);
  const config = defaultConfig(cpuCount);
  const iniPath = fromFlags.config ?? fromEnv.config ?? (existsSync("hqnode.ini") ? "hqnode.ini" : undefined);
  if (iniPath !== undefined) applyIni(config, iniPath);
  for (const layer of [fromEnv, fromFlags]) {
    for (const [key, value] of Object.entries(layer)) {
      if (key !== "config" && value !== undefined) setValue(config, key as keyof AgentConfig, value);
    }
  }
  config.token ??= localFarmSecret(env);
  return config;
}

/**
 * With no token configured: the farm secret a coordinator of this machine and user generated (its data
 * folder's `farm-secret`, 0600), so a one-machine farm needs no setup. Reading it proves the agent runs as
 * the coordinator's own user, who could read its Redis anyway. null when there is none.
 */
function localFarmSecret(env: NodeJS.ProcessEnv): string | null {
  const dataHome = env["XDG_DATA_HOME"] || join(homedir(), ".local", "share");
  const candidates = [env["OPENHQ_DATA"], join(dataHome, "openhq"), join(".openhq", "data")];
  for (const dir of candidates) {
    if (!dir) continue;
    try {
      const secret = readFileSync(join(dir, "farm-secret"), "utf8").trim();
      if (secret !== "") return secret;
    } catch {
      // not there: try the next
    }
  }
  return null;
}

function parseFlags(argv: string[]): Partial<Record<keyof AgentConfig | "config", string>> {
  const out: Partial<Record<keyof AgentConfig | "config", string>> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const eq = arg.indexOf("=");
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const key = FLAGS[flag];
    if (key === undefined)
      throw new AgentConfigError(`unknown option ${arg}; known: ${Object.keys(FLAGS).join(" ")}`);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new AgentConfigError(`${flag} needs a value`);
    out[key] = value;
  }
  return out;
}

function applyIni(config: AgentConfig, path: string): void {
  const ini = readIni(path);
  const main = ini.sections["main"] ?? {};
  const keys: Record<string, keyof AgentConfig> = {
    server: "server",
    port: "serverPort",
    name: "name",
    cpus: "cpus",
    "sharedNetwork.mount": "sharedNetworkMount",
    clientPort: "port",
    stateDir: "stateDir",
    logFile: "logFile",
    token: "token",
    caFile: "caFile",
  };
  for (const [iniKey, key] of Object.entries(keys)) {
    const value = main[iniKey];
    if (value !== undefined && value !== "") setValue(config, key, value);
  }
  const jobEnv = ini.sections["job_environment"] ?? {};
  const defaults = ini.sections["DEFAULT"] ?? {};
  for (const [key, value] of Object.entries(jobEnv)) {
    // The reader merges [DEFAULT] and `here` into every section; only the section's own keys are meant.
    if (key === "here" || (key in defaults && defaults[key] === value)) continue;
    config.jobEnvironment[key] = value;
  }
}

function setValue(config: AgentConfig, key: keyof AgentConfig, value: string): void {
  switch (key) {
    case "serverPort":
    case "port":
    case "cpus":
    case "heartbeatIntervalMs":
    case "killGraceMs": {
      const n = Number(value);
      if (!Number.isInteger(n) || n < (key === "killGraceMs" ? 0 : 1)) {
        throw new AgentConfigError(`${key} must be a positive integer, got ${JSON.stringify(value)}`);
      }
      config[key] = n;
      return;
    }
    case "server": {
      // Also accepts a URL ("http://farm:5000", "ws://farm:5000"), as HQSERVER-style settings are written.
      if (value.includes("://")) {
        const url = new URL(value);
        if (!/^(https?|wss?):$/.test(url.protocol))
          throw new AgentConfigError(
            `server URL must be http(s):// or ws(s)://, got ${JSON.stringify(value)}`,
          );
        // An https:// farm is reached over wss://; the scheme must not be silently dropped.
        config.tls = url.protocol === "https:" || url.protocol === "wss:";
        config.server = url.hostname.replace(/^\[|\]$/g, "");
        if (url.port !== "") config.serverPort = Number(url.port);
      } else if (/^[^:\s]+:\d+$/.test(value)) {
        // "host:port"
        const [host = "", port = ""] = value.split(":");
        config.server = host;
        config.serverPort = Number(port);
      } else if (/^[\w.-]+$|^[0-9a-f:]+$/i.test(value)) config.server = value;
      else
        throw new AgentConfigError(
          `server must be a host name, host:port or a URL, got ${JSON.stringify(value)}`,
        );
      return;
    }
    case "bind":
    case "name":
    case "stateDir":
      config[key] = value;
      return;
    case "logFile":
    case "sharedNetworkMount":
    case "token":
    case "caFile":
      config[key] = value;
      return;
    case "tls":
      throw new AgentConfigError("TLS comes from the server URL (https:// or wss://)");
    case "jobEnvironment":
      throw new AgentConfigError("job environment comes from the ini's [job_environment] section");
  }
}
