// The coordinator's configuration: defaults < hqserver.ini < environment variables < command-line flags.
//
// hqserver.ini keys (docs/COMPAT.md §8; found in any section, a later section wins):
//   port | hqserver.port                     listening port (5000)
//   host                                     listening address (0.0.0.0)
//   hqserver.activeTimeout                   minutes before a silent client is "not responding" (5)
//   hqserver.expireJobsDays                  days before finished root jobs are deleted; 0 = never (10)
//   hqserver.sharedNetwork.mount.linux|windows|macosx   HQROOT per platform
//   hqserver.sharedNetwork.host / .path      the UNC path windows clients see (\\host\path)
//   job_logs_dir                             the job log store's folder (<dataDir>/job_logs); shared by the
//                                            farm's coordinators (a network mount with several)
//   hqserver.upgradePriority, email_to, smtp_server   kept, returned by getConfig
// openhq's own keys (same file):
//   openhq.redis                 redis:// or rediss:// URL; empty = start a private redis-server
//   openhq.redis.sentinels       "host:port,host:port" (Sentinel; then openhq.redis.name is the master)
//   openhq.redis.name            Sentinel master name (mymaster)
//   openhq.redis.passwordFile    file holding the Redis password (added to openhq.redis's URL)
//   openhq.redis.waitReplicas    replicas that must confirm (WAIT) before events are acked or a job sent (0)
//   openhq.prefix                Redis key prefix (hq:)
//   openhq.dataDir               where the private redis-server keeps its data
//   openhq.agentToken            shared secret agents must present
//   openhq.maxOutputBytes        cap on one attempt's output, bytes; 0 = none (default); the rest is cut
//   openhq.maxLogBytes           quota of the whole job log store, compressed bytes; 0 = none (default)
//   openhq.heartbeatIntervalMs   ms between agent heartbeats (5000)
//   openhq.serverUrl             the HQSERVER URL jobs see (default http://<hostname>:<port>)
//   openhq.maxRequestBytes       largest XML-RPC request body accepted (64 MiB); larger ones get HTTP 413
//   openhq.maxXmlDepth           deepest nesting of XML elements in a request (64); deeper is a parse Fault
//   openhq.maxReplyBytes         largest XML-RPC reply (1 GiB with no output cap, else 64 MiB or
//                                2 x maxOutputBytes + 1 MiB if more); larger
//                                is answered with a Fault
//   openhq.allowedHosts          Host names served besides the defaults (coordinator/hosts.ts); * = any
//   openhq.tlsCert, openhq.tlsKey  PEM files: serve https:// and wss:// (agents: https:// server + caFile)
// Environment: OPENHQ_CONFIG ("" = read no file), OPENHQ_PORT, OPENHQ_HOST, REDIS_URL (or OPENHQ_REDIS),
//   OPENHQ_REDIS_SENTINELS, OPENHQ_REDIS_NAME, OPENHQ_PREFIX, OPENHQ_DATA, OPENHQ_AGENT_TOKEN, OPENHQ_MAX_OUTPUT_BYTES,
//   OPENHQ_MAX_LOG_BYTES, OPENHQ_JOB_LOGS_DIR,
//   OPENHQ_HEARTBEAT_INTERVAL (ms, as for the agent), OPENHQ_SERVER_URL, OPENHQ_MAX_REQUEST_BYTES,
//   OPENHQ_MAX_XML_DEPTH, OPENHQ_REDIS_WAIT_REPLICAS.
// Flags: --config FILE, --port N, --host ADDR, --redis URL, --data DIR, --prefix P.

import { existsSync, readFileSync } from "node:fs";
import { homedir, hostname } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { readIni } from "../shared/ini.js";
import type { ServerSettings } from "./context.js";

export interface RedisTarget {
  /** redis:// or rediss:// URL; null with no sentinels = start a private redis-server. */
  url: string | null;
  sentinels: { host: string; port: number }[];
  sentinelName: string;
}

export interface CoordinatorConfig {
  port: number;
  host: string;
  redis: RedisTarget;
  prefix: string;
  dataDir: string;
  /** The ini file read, if any. */
  configPath: string | null;
  /** Bounds on what one XML-RPC request may be. */
  maxRequestBytes: number;
  maxXmlDepth: number;
  maxReplyBytes: number;
  /** Certificate and key (PEM) to serve HTTPS with; null = plain HTTP. */
  tls: { cert: Buffer; key: Buffer } | null;
  settings: ServerSettings;
}

export class ConfigError extends Error {}

export const USAGE = `usage: openhq-coordinator [--config FILE] [--port N] [--host ADDR] [--redis URL]
                          [--data DIR] [--prefix P]

  --config FILE   hqserver.ini to read (default: ./hqserver.ini when present; env OPENHQ_CONFIG)
  --port N        listening port (default 5000; env OPENHQ_PORT)
  --host ADDR     listening address (default 0.0.0.0; env OPENHQ_HOST)
  --redis URL     redis:// or rediss:// URL (env REDIS_URL); none = start a private redis-server
  --data DIR      data folder of the private redis-server (env OPENHQ_DATA)
  --prefix P      Redis key prefix (default "hq:"; env OPENHQ_PREFIX)
`;

export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): CoordinatorConfig {
  let flags;
  try {
    flags = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: "string" },
        port: { type: "string" },
        host: { type: "string" },
        redis: { type: "string" },
        data: { type: "string" },
        prefix: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}\n\n${USAGE}`);
  }

  // OPENHQ_CONFIG="" means "no file at all", not even ./hqserver.ini.
  const configPath =
    flags.config ??
    (env["OPENHQ_CONFIG"] === "" ? null : env["OPENHQ_CONFIG"]) ??
    (existsSync("hqserver.ini") ? "hqserver.ini" : null);
  const raw = configPath === null ? {} : flatten(configPath);
  const pick = (flag: string | undefined, envNames: string[], iniKeys: string[]): string | undefined => {
    if (flag !== undefined) return flag;
    for (const name of envNames) if (env[name] !== undefined && env[name] !== "") return env[name];
    for (const key of iniKeys) if (raw[key] !== undefined && raw[key] !== "") return raw[key];
    return undefined;
  };

  const port = integer(
    pick(flags.port, ["OPENHQ_PORT"], ["hqserver.port", "port"]) ?? "5000",
    "port",
    0,
    65535,
  );
  const host = pick(flags.host, ["OPENHQ_HOST"], ["openhq.host", "host"]) ?? "0.0.0.0";
  const sentinelList = pick(undefined, ["OPENHQ_REDIS_SENTINELS"], ["openhq.redis.sentinels"]) ?? "";
  let redisUrl = pick(flags.redis, ["REDIS_URL", "OPENHQ_REDIS"], ["openhq.redis"]) ?? null;
  if (redisUrl !== null && !/^rediss?:\/\//.test(redisUrl)) {
    throw new ConfigError(`redis: expected a redis:// or rediss:// URL, got ${JSON.stringify(redisUrl)}`);
  }
  // A password kept in a file (openhq-redis.service makes one) goes into the URL, never into the ini.
  const passwordFile = pick(undefined, ["OPENHQ_REDIS_PASSWORD_FILE"], ["openhq.redis.passwordFile"]);
  if (passwordFile !== undefined && redisUrl !== null) {
    try {
      const url = new URL(redisUrl);
      url.password = encodeURIComponent(readFileSync(passwordFile, "utf8").trim());
      redisUrl = url.toString();
    } catch (err) {
      throw new ConfigError(`openhq.redis.passwordFile: ${(err as Error).message}`);
    }
  }
  const dataDir = resolve(pick(flags.data, ["OPENHQ_DATA"], ["openhq.dataDir"]) ?? defaultDataDir(env));
  const heartbeatMs = integer(
    pick(undefined, ["OPENHQ_HEARTBEAT_INTERVAL"], ["openhq.heartbeatIntervalMs"]) ?? "5000",
    "heartbeatIntervalMs",
    50,
    3_600_000,
  );
  const mount: Record<string, string> = {};
  for (const platform of ["linux", "windows", "macosx"]) {
    const value = raw[`hqserver.sharedNetwork.mount.${platform}`];
    if (value !== undefined && value !== "") mount[platform] = value;
  }

  const certFile = pick(undefined, ["OPENHQ_TLS_CERT"], ["openhq.tlsCert"]);
  const keyFile = pick(undefined, ["OPENHQ_TLS_KEY"], ["openhq.tlsKey"]);
  if ((certFile === undefined) !== (keyFile === undefined))
    throw new ConfigError("tlsCert and tlsKey go together: give both or neither");
  let tls: CoordinatorConfig["tls"] = null;
  try {
    if (certFile !== undefined && keyFile !== undefined)
      tls = { cert: readFileSync(certFile), key: readFileSync(keyFile) };
  } catch (err) {
    throw new ConfigError(`TLS: ${(err as Error).message}`);
  }
  const scheme = tls === null ? "http" : "https";

  const settings: ServerSettings = {
    activeTimeoutMinutes: number(raw["hqserver.activeTimeout"] ?? "5", "hqserver.activeTimeout", 0),
    expireJobsDays: number(raw["hqserver.expireJobsDays"] ?? "10", "hqserver.expireJobsDays", 0),
    heartbeatIntervalMs: heartbeatMs,
    sharedNetworkMount: mount,
    sharedNetworkHost: nonEmpty(raw["hqserver.sharedNetwork.host"]),
    sharedNetworkPath: nonEmpty(raw["hqserver.sharedNetwork.path"]),
    agentToken: nonEmpty(pick(undefined, ["OPENHQ_AGENT_TOKEN"], ["openhq.agentToken"])),
    maxOutputBytes: integer(
      pick(undefined, ["OPENHQ_MAX_OUTPUT_BYTES"], ["openhq.maxOutputBytes"]) ?? "0",
      "maxOutputBytes",
      0,
      Number.MAX_SAFE_INTEGER,
    ),
    maxLogBytes: integer(
      pick(undefined, ["OPENHQ_MAX_LOG_BYTES"], ["openhq.maxLogBytes"]) ?? "0",
      "maxLogBytes",
      0,
      Number.MAX_SAFE_INTEGER,
    ),
    jobLogsDir: resolve(
      pick(undefined, ["OPENHQ_JOB_LOGS_DIR"], ["job_logs_dir"]) ?? join(dataDir, "job_logs"),
    ),
    waitReplicas: integer(
      pick(undefined, ["OPENHQ_REDIS_WAIT_REPLICAS"], ["openhq.redis.waitReplicas"]) ?? "0",
      "waitReplicas",
      0,
      100,
    ),
    serverUrl:
      pick(undefined, ["OPENHQ_SERVER_URL"], ["openhq.serverUrl"]) ??
      `${scheme}://${host === "0.0.0.0" || host === "::" ? hostname() : host}:${port}`,
    raw,
  };

  // getConfig("job_logs_dir") answers the folder in use even when the file does not name it.
  if (raw["job_logs_dir"] === undefined) raw["job_logs_dir"] = settings.jobLogsDir;

  return {
    port,
    host,
    redis: {
      url: redisUrl,
      sentinels: sentinelList === "" ? [] : parseSentinels(sentinelList),
      sentinelName: pick(undefined, ["OPENHQ_REDIS_NAME"], ["openhq.redis.name"]) ?? "mymaster",
    },
    prefix: pick(flags.prefix, ["OPENHQ_PREFIX"], ["openhq.prefix"]) ?? "hq:",
    dataDir,
    configPath: configPath === null ? null : resolve(configPath),
    maxRequestBytes: integer(
      pick(undefined, ["OPENHQ_MAX_REQUEST_BYTES"], ["openhq.maxRequestBytes"]) ?? String(64 * 1024 * 1024),
      "maxRequestBytes",
      1024,
      Number.MAX_SAFE_INTEGER,
    ),
    // By default a job's whole stored output (getJobOutput), escaped, still fits in one reply: with no
    // output cap that is up to the 400 MiB getJobOutput itself allows (api/jobs.ts), so 1 GiB.
    maxReplyBytes: integer(
      pick(undefined, ["OPENHQ_MAX_REPLY_BYTES"], ["openhq.maxReplyBytes"]) ??
        String(
          settings.maxOutputBytes === 0
            ? 1024 * 1024 * 1024
            : Math.max(64 * 1024 * 1024, 2 * settings.maxOutputBytes + 1024 * 1024),
        ),
      "maxReplyBytes",
      1024,
      Number.MAX_SAFE_INTEGER,
    ),
    maxXmlDepth: integer(
      pick(undefined, ["OPENHQ_MAX_XML_DEPTH"], ["openhq.maxXmlDepth"]) ?? "64",
      "maxXmlDepth",
      4,
      10_000,
    ),
    tls,
    settings,
  };
}

/** Every key of every section as "key" (a later section wins) and as "section.key". */
function flatten(path: string): Record<string, string> {
  let ini;
  try {
    ini = readIni(path);
  } catch (err) {
    throw new ConfigError(`${path}: ${(err as Error).message}`);
  }
  const flat: Record<string, string> = {};
  for (const [section, values] of Object.entries(ini.sections)) {
    for (const [key, value] of Object.entries(values)) {
      flat[key] = value;
      flat[`${section}.${key}`] = value;
    }
  }
  return flat;
}

function defaultDataDir(env: NodeJS.ProcessEnv): string {
  const base = env["XDG_DATA_HOME"] || join(homedir(), ".local", "share");
  return join(base, "openhq");
}

function parseSentinels(list: string): { host: string; port: number }[] {
  return list
    .split(/[\s,;]+/)
    .filter(Boolean)
    .map((entry) => {
      const match = /^(.+?)(?::(\d+))?$/.exec(entry);
      if (!match?.[1]) throw new ConfigError(`redis sentinels: cannot read ${JSON.stringify(entry)}`);
      return {
        host: match[1],
        port: match[2] === undefined ? 26379 : integer(match[2], "sentinel port", 1, 65535),
      };
    });
}

function integer(text: string, name: string, min: number, max: number): number {
  const n = Number(text.trim());
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(
      `${name}: expected an integer between ${min} and ${max}, got ${JSON.stringify(text)}`,
    );
  }
  return n;
}

function number(text: string, name: string, min: number): number {
  const n = Number(text.trim());
  if (!Number.isFinite(n) || n < min) {
    throw new ConfigError(`${name}: expected a number >= ${min}, got ${JSON.stringify(text)}`);
  }
  return n;
}

function nonEmpty(value: string | undefined): string | null {
  return value === undefined || value.trim() === "" ? null : value.trim();
}
