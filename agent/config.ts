// The agent's settings: hqnode.ini's [main] section (docs/COMPAT.md §7), then environment variables, then
// command-line flags, each later source winning (shared/config-loader.ts reads OPTIONS below). The ini's
// [job_environment] section is added to every job's environment.

import { existsSync, readFileSync } from "node:fs";
import { homedir, hostname } from "node:os";
import { join } from "node:path";
import { KindError, kinds, Options, type OptionTable } from "../shared/config-loader.js";
import { readIni, type IniFile } from "../shared/ini.js";

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
  /** With a log file: each line to stderr as well (off when stderr is itself a file: lines twice). */
  logToStderr: boolean;
  /** HQROOT override (`sharedNetwork.mount`); null = what the coordinator says. */
  sharedNetworkMount: string | null;
  /** Variables added to every job ([job_environment]). */
  jobEnvironment: Record<string, string>;
  /** Default heartbeat period, ms; the coordinator's welcome.heartbeatInterval wins. */
  heartbeatIntervalMs: number;
  /** Time between SIGTERM and SIGKILL when a job is cancelled, ms. */
  killGraceMs: number;
  /** The farm secret sent in hello (the coordinator's openhq.farmSecret); also guards terminate() on port 5001. */
  farmSecret: string | null;
  /** wss:// to the coordinator: set by an https:// or wss:// server URL. */
  tls: boolean;
  /** PEM file of the CA(s) that signed the coordinator's certificate; null = the system's CAs. */
  caFile: string | null;
  /** Sockets the client port holds at once: in all, and from one address. */
  maxConnections: number;
  maxConnectionsPerAddress: number;
  /** The account jobs run as (agent/job-account.ts); null = the agent's own (refused when that is root). */
  jobUser: string | null;
  /** The farm's artifact-signing public key pinned at install (base64 SPKI DER); upgrades need it. */
  signingKey: string | null;
}

/** Every option: flag, environment variable, [main] key in hqnode.ini. README.md has the same table. */
export const OPTIONS = {
  config: {
    flag: "config",
    arg: "FILE",
    env: ["OPENHQ_AGENT_CONFIG"],
    kind: kinds.string,
    doc: "hqnode.ini to read (default ./hqnode.ini when present)",
  },
  server: {
    flag: "server",
    arg: "HOST|URL",
    env: ["OPENHQ_SERVER"],
    ini: ["server"],
    kind: kinds.custom(parseServer),
    doc: "the coordinator: host, host:port or http(s):// / ws(s):// URL (default localhost)",
  },
  serverPort: {
    flag: "server-port",
    arg: "N",
    env: ["OPENHQ_SERVER_PORT"],
    ini: ["port"],
    kind: kinds.int(1),
    doc: "the coordinator's port (default 5000)",
  },
  port: {
    flag: "port",
    arg: "N",
    env: ["OPENHQ_AGENT_PORT"],
    ini: ["clientPort"],
    kind: kinds.int(1),
    default: 5001,
    doc: "this agent's XML-RPC port (default 5001)",
  },
  bind: {
    flag: "bind",
    arg: "ADDR",
    env: ["OPENHQ_AGENT_BIND"],
    kind: kinds.string,
    default: "0.0.0.0",
    doc: "bind address of the XML-RPC port (default 0.0.0.0)",
  },
  name: {
    flag: "name",
    arg: "NAME",
    env: ["OPENHQ_AGENT_NAME"],
    ini: ["name"],
    kind: kinds.string,
    default: "",
    doc: "several agents on one host need distinct names",
  },
  cpus: {
    flag: "cpus",
    arg: "N",
    env: ["OPENHQ_AGENT_CPUS"],
    ini: ["cpus"],
    kind: kinds.int(1),
    doc: "CPUs offered to jobs (default all)",
  },
  stateDir: {
    flag: "state-dir",
    arg: "DIR",
    env: ["OPENHQ_STATE_DIR"],
    ini: ["stateDir"],
    kind: kinds.string,
    doc: "running jobs' records, spool, credential (default ~/.local/state/openhq-agent-<host>)",
  },
  logFile: {
    flag: "log-file",
    arg: "FILE",
    env: ["OPENHQ_AGENT_LOG_FILE"],
    ini: ["logFile"],
    kind: kinds.string,
    doc: "log file (default stderr)",
  },
  logToStderr: {
    env: ["OPENHQ_AGENT_LOG_STDERR"],
    ini: ["logToStderr"],
    kind: kinds.bool,
    default: true,
    doc: "with a log file, also write each line to stderr (the journal); off for an agent whose stderr goes to a file",
  },
  sharedNetworkMount: {
    ini: ["sharedNetwork.mount"],
    kind: kinds.string,
    doc: "HQROOT on this machine (default: what the coordinator says)",
  },
  heartbeatIntervalMs: {
    flag: "heartbeat-interval",
    arg: "MS",
    env: ["OPENHQ_HEARTBEAT_INTERVAL"],
    kind: kinds.int(1),
    default: 5000,
    doc: "heartbeat period until the coordinator's welcome says (default 5000)",
  },
  killGraceMs: {
    flag: "kill-grace",
    arg: "MS",
    env: ["OPENHQ_KILL_GRACE"],
    kind: kinds.int(0),
    default: 10_000,
    doc: "SIGTERM to SIGKILL of a cancelled job (default 10000)",
  },
  farmSecret: {
    flag: "secret",
    oldFlags: ["token"],
    arg: "SECRET",
    env: ["OPENHQ_FARM_SECRET", "OPENHQ_AGENT_TOKEN"],
    ini: ["secret", "token"],
    kind: kinds.string,
    doc: "the farm secret (default: a local coordinator's farm-secret file)",
  },
  caFile: {
    flag: "ca-file",
    arg: "FILE",
    env: ["OPENHQ_CA_FILE"],
    ini: ["caFile"],
    kind: kinds.string,
    doc: "PEM CA(s) of an https:// coordinator (default the system's)",
  },
  maxConnections: {
    flag: "max-connections",
    arg: "N",
    env: ["OPENHQ_AGENT_MAX_CONNECTIONS"],
    ini: ["maxConnections"],
    kind: kinds.int(1, 10_000),
    default: 64,
    doc: "connections the client port holds at once (1-10000, default 64)",
  },
  maxConnectionsPerAddress: {
    flag: "max-connections-per-address",
    arg: "N",
    env: ["OPENHQ_AGENT_MAX_CONNECTIONS_PER_ADDRESS"],
    ini: ["maxConnectionsPerAddress"],
    kind: kinds.int(1, 10_000),
    default: 8,
    doc: "of those, from one address (1-10000, default 8)",
  },
  jobUser: {
    flag: "job-user",
    arg: "USER",
    env: ["OPENHQ_JOB_USER"],
    ini: ["jobUser"],
    kind: kinds.string,
    doc: "account jobs run as (needed when the agent runs as root; root only when given)",
  },
  signingKey: {
    flag: "signing-key",
    arg: "KEY",
    env: ["OPENHQ_SIGNING_KEY"],
    ini: ["signingKey"],
    kind: kinds.string,
    doc: "the farm's signing key (/install/signing-key.pub), pinned at install: upgrades must be signed by it",
  },
} satisfies OptionTable;

export const USAGE = `usage: openhq-agent [FLAGS]
       openhq-agent --version

${Options.usage(OPTIONS, 28)}
Every flag has an OPENHQ_* environment variable, most an hqnode.ini key: see deploy/hqnode.ini.example.
`;

export function defaultConfig(cpuCount: number): AgentConfig {
  return {
    server: "localhost",
    serverPort: 5000,
    port: OPTIONS.port.default,
    bind: OPTIONS.bind.default,
    name: OPTIONS.name.default,
    cpus: cpuCount,
    // Never a shared /tmp: whoever can write the state folder can make the agent signal processes.
    stateDir: join(
      process.env["XDG_STATE_HOME"] || join(homedir(), ".local", "state"),
      `openhq-agent-${hostname()}`,
    ),
    logFile: null,
    logToStderr: true,
    sharedNetworkMount: null,
    jobEnvironment: {},
    heartbeatIntervalMs: OPTIONS.heartbeatIntervalMs.default,
    killGraceMs: OPTIONS.killGraceMs.default,
    farmSecret: null,
    tls: false,
    caFile: null,
    maxConnections: OPTIONS.maxConnections.default,
    maxConnectionsPerAddress: OPTIONS.maxConnectionsPerAddress.default,
    jobUser: null,
    signingKey: null,
  };
}

/** Reads flags (`--x value` or `--x=value`), env and hqnode.ini; returns the merged config. Throws ConfigError. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv, cpuCount: number): AgentConfig {
  const options = new Options(OPTIONS, { argv, env });
  const config = defaultConfig(cpuCount);
  const iniPath = options.get("config") ?? (existsSync("hqnode.ini") ? "hqnode.ini" : undefined);
  if (iniPath !== undefined) {
    const ini = readIni(iniPath);
    options.useIni(ini.sections["main"] ?? {}, `${iniPath} [main]`);
    config.jobEnvironment = jobEnvironment(ini);
  }
  // A server URL may carry a port and a scheme; what is given later (higher source, later flag) wins.
  const given = [
    ...options.given("server").map((g) => ({ ...g, option: "server" as const })),
    ...options.given("serverPort").map((g) => ({ ...g, option: "serverPort" as const })),
  ].sort((a, b) => a.order - b.order);
  for (const g of given) {
    if (g.option === "serverPort") config.serverPort = options.convert("serverPort", g);
    else {
      const to = options.convert("server", g);
      config.server = to.host;
      if (to.port !== undefined) config.serverPort = to.port;
      if (to.tls !== undefined) config.tls = to.tls;
    }
  }
  config.port = options.get("port");
  config.bind = options.get("bind");
  config.name = options.get("name");
  config.cpus = options.get("cpus") ?? cpuCount;
  config.stateDir = options.get("stateDir") ?? config.stateDir;
  config.logFile = options.get("logFile") ?? null;
  config.logToStderr = options.get("logToStderr");
  config.sharedNetworkMount = options.get("sharedNetworkMount") ?? null;
  config.heartbeatIntervalMs = options.get("heartbeatIntervalMs");
  config.killGraceMs = options.get("killGraceMs");
  config.caFile = options.get("caFile") ?? null;
  config.maxConnections = options.get("maxConnections");
  config.maxConnectionsPerAddress = options.get("maxConnectionsPerAddress");
  config.jobUser = options.get("jobUser") ?? null;
  config.signingKey = options.get("signingKey") ?? null;
  config.farmSecret = options.get("farmSecret") ?? localFarmSecret(env);
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

/** The ini's [job_environment] section. */
function jobEnvironment(ini: IniFile): Record<string, string> {
  const out: Record<string, string> = {};
  const defaults = ini.sections["DEFAULT"] ?? {};
  for (const [key, value] of Object.entries(ini.sections["job_environment"] ?? {})) {
    // The reader merges [DEFAULT] and `here` into every section; only the section's own keys are meant.
    if (key === "here" || (key in defaults && defaults[key] === value)) continue;
    out[key] = value;
  }
  return out;
}

interface Server {
  host: string;
  port?: number;
  /** Set by a URL: an https:// or wss:// farm is reached over wss://. */
  tls?: boolean;
}

/** A host name, "host:port", or a URL ("http://farm:5000", "ws://farm:5000") as HQSERVER-style settings are written. */
function parseServer(value: string): Server {
  if (value.includes("://")) {
    let url: URL | null = null;
    try {
      url = new URL(value);
    } catch {
      // reported below
    }
    if (url === null || !/^(https?|wss?):$/.test(url.protocol))
      throw new KindError("an http(s):// or ws(s):// URL");
    // The scheme must not be silently dropped.
    const tls = url.protocol === "https:" || url.protocol === "wss:";
    const host = url.hostname.replace(/^\[|\]$/g, "");
    return url.port === "" ? { host, tls } : { host, port: Number(url.port), tls };
  }
  if (/^[^:\s]+:\d+$/.test(value)) {
    const [host = "", port = ""] = value.split(":");
    return { host, port: Number(port) };
  }
  if (/^[\w.-]+$|^[0-9a-f:]+$/i.test(value)) return { host: value };
  throw new KindError("a host name, host:port or a URL");
}
