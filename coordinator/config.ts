// The coordinator's configuration: defaults < hqserver.ini < environment variables < command-line flags, read
// by shared/config-loader.ts from OPTIONS below (README.md has the same table). hqserver.ini keys
// (docs/COMPAT.md §8) are found in any section, a later section winning; hqserver.upgradePriority, email_to,
// smtp_server and every other key are kept and returned by getConfig. openhq.allowedHosts is read by
// hosts.ts, openhq.auth.* by auth.ts.

import { existsSync } from "node:fs";
import { homedir, hostname } from "node:os";
import { join, resolve } from "node:path";
import { ConfigError, kinds, KindError, Options, type OptionTable } from "../shared/config-loader.js";
import { readIni } from "../shared/ini.js";
import { MAX_STALL_SECONDS } from "./api/args.js";
import { BLADE_DEFAULTS, DISPATCH_DEFAULTS, SENT_ASSIGNS_PER_LINK, type ServerSettings } from "./context.js";
import { DEFAULT_MAX_LOST_ATTEMPTS, notRespondingAfterMs } from "./liveness.js";
import { needsPrivateCa } from "./tls-trust.js";
import { withoutCredentials } from "./link/identity.js";
import { noticeSettings, type NoticeSettings } from "./notices/settings.js";
import { sharesFromIni } from "./shares.js";

export { ConfigError };

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
  /** Whole job logs streamed into getJobOutput replies at once. */
  maxLogReads: number;
  /** Certificate and key (PEM) to serve HTTPS with; null = plain HTTP. */
  tls: { cert: Buffer; key: Buffer } | null;
  /** Bounds on what callers may hold of port 5000 (see docs/SECURITY.md). */
  limits: PortLimits;
  settings: ServerSettings;
  /** Job mail, webhooks and the error digest (coordinator/notices). */
  notices: NoticeSettings;
  /** Days the audit log keeps a record (coordinator/audit/retention.ts); 0 = no age bound. */
  auditKeepDays: number;
}

export interface PortLimits {
  /** Sockets open at once, in all and from one address (an agent past its hello counts in all only). */
  maxConnections: number;
  maxConnectionsPerAddress: number;
  /** /agent sockets that have not said a welcomed hello yet, and the bytes each may send until then. */
  maxPendingAgents: number;
  maxHelloBytes: number;
  /** Longest wait for a request's headers (or a new connection's first byte), and for a whole request. */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
}

const BYTES = kinds.int(0);

/** Every option: its flag, environment variables and hqserver.ini keys (see the header for their meaning). */
export const OPTIONS = {
  config: {
    flag: "config",
    arg: "FILE",
    kind: kinds.string,
    doc: "hqserver.ini to read (default: ./hqserver.ini when present; env OPENHQ_CONFIG)",
  },
  port: {
    flag: "port",
    arg: "N",
    env: ["OPENHQ_PORT"],
    ini: ["hqserver.port", "port"],
    kind: kinds.int(0, 65535),
    default: 5000,
    doc: "listening port (default 5000; env OPENHQ_PORT)",
  },
  host: {
    flag: "host",
    arg: "ADDR",
    env: ["OPENHQ_HOST"],
    ini: ["openhq.host", "host"],
    kind: kinds.string,
    default: "0.0.0.0",
    doc: "listening address (default 0.0.0.0; env OPENHQ_HOST)",
  },
  redis: {
    flag: "redis",
    arg: "URL",
    env: ["REDIS_URL", "OPENHQ_REDIS"],
    ini: ["openhq.redis"],
    kind: kinds.custom((text) => {
      if (!/^rediss?:\/\//.test(text)) throw new KindError("a redis:// or rediss:// URL");
      return text;
    }),
    doc: "redis:// or rediss:// URL (env REDIS_URL); none = start a private redis-server",
  },
  data: {
    flag: "data",
    arg: "DIR",
    env: ["OPENHQ_DATA"],
    ini: ["openhq.dataDir"],
    kind: kinds.string,
    doc: `data folder (env OPENHQ_DATA): the private redis-server's data (redis/),
                  the job logs (job_logs/, unless job_logs_dir says otherwise) and farm-secret`,
  },
  prefix: {
    flag: "prefix",
    arg: "P",
    env: ["OPENHQ_PREFIX"],
    ini: ["openhq.prefix"],
    kind: kinds.string,
    default: "hq:",
    doc: 'Redis key prefix (default "hq:"; env OPENHQ_PREFIX)',
  },
  help: { flag: "help", short: "h", kind: kinds.bool, default: false, doc: "this text" },
  sentinels: {
    doc: '"host:port,host:port": Redis Sentinel (then sentinelName is the master)',
    env: ["OPENHQ_REDIS_SENTINELS"],
    ini: ["openhq.redis.sentinels"],
    kind: kinds.custom(parseSentinels),
    default: [],
  },
  sentinelName: {
    env: ["OPENHQ_REDIS_NAME"],
    ini: ["openhq.redis.name"],
    kind: kinds.string,
    default: "mymaster",
    doc: "Sentinel master name",
  },
  passwordFile: {
    env: ["OPENHQ_REDIS_PASSWORD_FILE"],
    ini: ["openhq.redis.passwordFile"],
    kind: kinds.file,
    doc: "file holding the Redis password (added to the Redis URL)",
  },
  waitReplicas: {
    env: ["OPENHQ_REDIS_WAIT_REPLICAS"],
    ini: ["openhq.redis.waitReplicas"],
    kind: kinds.int(0, 100),
    default: 0,
    doc: "replicas that must confirm (WAIT) before events are acked or a job sent",
  },
  heartbeatIntervalMs: {
    env: ["OPENHQ_HEARTBEAT_INTERVAL"],
    ini: ["openhq.heartbeatIntervalMs"],
    kind: kinds.int(50, 3_600_000),
    default: 5000,
    doc: "ms between agent heartbeats",
  },
  activeTimeout: {
    ini: ["hqserver.activeTimeout"],
    kind: kinds.number(0),
    default: 5,
    doc: 'minutes before a silent client is "not responding"',
  },
  frozenTimeout: {
    env: ["OPENHQ_FROZEN_TIMEOUT"],
    ini: ["openhq.frozenTimeout"],
    kind: kinds.int(0, 3600),
    default: 0,
    doc: "seconds without a heartbeat before a blade whose link stays up loses its frames (as lost); 0 = activeTimeout",
  },
  maxLostAttempts: {
    env: ["OPENHQ_MAX_LOST_ATTEMPTS"],
    ini: ["openhq.maxLostAttempts"],
    kind: kinds.int(1, 100),
    default: DEFAULT_MAX_LOST_ATTEMPTS,
    doc: "runs of one job that may end with their blade lost; the last one abandons the job",
  },
  expireJobsDays: {
    ini: ["hqserver.expireJobsDays"],
    kind: kinds.number(0),
    default: 10,
    doc: "days before finished root jobs are deleted; 0 = never",
  },
  mountLinux: {
    ini: ["hqserver.sharedNetwork.mount.linux"],
    kind: kinds.string,
    doc: "HQROOT of linux clients",
  },
  mountWindows: {
    ini: ["hqserver.sharedNetwork.mount.windows"],
    kind: kinds.string,
    doc: "HQROOT of windows clients",
  },
  mountMacosx: {
    ini: ["hqserver.sharedNetwork.mount.macosx"],
    kind: kinds.string,
    doc: "HQROOT of macosx clients",
  },
  sharedNetworkHost: {
    ini: ["hqserver.sharedNetwork.host"],
    kind: kinds.trimmed,
    default: null,
    doc: "the UNC path windows clients see (\\\\host\\path): host",
  },
  sharedNetworkPath: {
    ini: ["hqserver.sharedNetwork.path"],
    kind: kinds.trimmed,
    default: null,
    doc: "the UNC path windows clients see: path",
  },
  farmSecret: {
    // openhq.agentToken and OPENHQ_AGENT_TOKEN: the names of earlier releases, still read.
    env: ["OPENHQ_FARM_SECRET", "OPENHQ_AGENT_TOKEN"],
    ini: ["openhq.farmSecret", "openhq.agentToken"],
    kind: kinds.trimmed,
    default: null,
    doc: "the farm secret agents present (default: generated at first start, in <dataDir>/farm-secret)",
  },
  maxOutputBytes: {
    env: ["OPENHQ_MAX_OUTPUT_BYTES"],
    ini: ["openhq.maxOutputBytes"],
    kind: BYTES,
    default: 0,
    doc: "cap on one attempt's output, bytes; 0 = none; the rest is cut",
  },
  maxLogBytes: {
    env: ["OPENHQ_MAX_LOG_BYTES"],
    ini: ["openhq.maxLogBytes"],
    kind: BYTES,
    default: 0,
    doc: "quota of the whole job log store, compressed bytes; 0 = none",
  },
  stallTimeout: {
    env: ["OPENHQ_STALL_TIMEOUT"],
    ini: ["openhq.stallTimeout"],
    kind: kinds.int(0, MAX_STALL_SECONDS),
    default: 0,
    doc: "seconds without output (or progress) after which a run is killed as hung and retried per triesLeft, for jobs without their own stallTimeout; 0 = off",
  },
  fairShare: {
    env: ["OPENHQ_FAIR_SHARE"],
    ini: ["openhq.fairShare"],
    kind: kinds.custom((text) => {
      const t = text.trim();
      if (t !== "share" && t !== "user") throw new KindError("share or user");
      return t;
    }),
    default: "share",
    doc: "user: within a share (openhq.share.*), users get equal slots too",
  },
  maxRunningPerUser: {
    env: ["OPENHQ_MAX_RUNNING_PER_USER"],
    ini: ["openhq.maxRunningPerUser"],
    kind: kinds.int(0, 10_000_000),
    default: 0,
    doc: "CPU slots the running jobs of one submittedBy may hold at once; 0 = no cap",
  },
  dispatchHeadsPage: {
    env: ["OPENHQ_DISPATCH_HEADS_PAGE"],
    ini: ["openhq.dispatch.headsPage"],
    kind: kinds.int(1, 100_000),
    default: DISPATCH_DEFAULTS.headsPage,
    doc: "requirement classes one dispatch pass reads a page (tuning; tests lower it)",
  },
  dispatchClassPage: {
    env: ["OPENHQ_DISPATCH_CLASS_PAGE"],
    ini: ["openhq.dispatch.classPage"],
    kind: kinds.int(1, 100_000),
    default: DISPATCH_DEFAULTS.classPage,
    doc: "jobs of one class a dispatch pass reads a page (tuning; tests lower it)",
  },
  reasonsWalk: {
    env: ["OPENHQ_REASONS_WALK"],
    ini: ["openhq.dispatch.reasonsWalk"],
    kind: kinds.int(1, 1_000_000),
    default: DISPATCH_DEFAULTS.reasonsWalk,
    doc: "queued jobs the waiting-reasons round walks at most (tuning; tests lower it)",
  },
  dispatchMaintenanceMs: {
    env: ["OPENHQ_DISPATCH_MAINTENANCE_MS"],
    ini: ["openhq.dispatch.maintenanceMs"],
    kind: kinds.int(50, 3_600_000),
    default: DISPATCH_DEFAULTS.maintenanceMs,
    doc: "ms between the scheduler's maintenance rounds: groups, waiting reasons, stale holds (tuning; tests lower it)",
  },
  linkSentAssigns: {
    env: ["OPENHQ_LINK_SENT_ASSIGNS"],
    ini: ["openhq.link.sentAssigns"],
    kind: kinds.int(1, 1_000_000),
    default: SENT_ASSIGNS_PER_LINK,
    doc: "attempts one agent link remembers as sent, whose events skip a Redis check (tuning; tests lower it)",
  },
  jobLogsDir: {
    env: ["OPENHQ_JOB_LOGS_DIR"],
    ini: ["job_logs_dir"],
    kind: kinds.string,
    doc: "the job log store's folder (default <dataDir>/job_logs), one for all the farm's coordinators",
  },
  serverUrl: {
    env: ["OPENHQ_SERVER_URL"],
    ini: ["openhq.serverUrl"],
    kind: kinds.string,
    doc: "the HQSERVER URL jobs see (default http(s)://<hostname>:<port>)",
  },
  maxRequestBytes: {
    env: ["OPENHQ_MAX_REQUEST_BYTES"],
    ini: ["openhq.maxRequestBytes"],
    kind: kinds.int(1024),
    default: 64 * 1024 * 1024,
    doc: "largest XML-RPC request body accepted; larger ones get HTTP 413",
  },
  maxReplyBytes: {
    env: ["OPENHQ_MAX_REPLY_BYTES"],
    ini: ["openhq.maxReplyBytes"],
    kind: kinds.int(1024),
    doc: "largest XML-RPC reply, larger is a Fault (default 1 GiB with no output cap, else 64 MiB or 2 x maxOutputBytes + 1 MiB if more)",
  },
  maxLogReads: {
    env: ["OPENHQ_MAX_LOG_READS"],
    ini: ["openhq.maxLogReads"],
    kind: kinds.int(1, 256),
    default: 4,
    doc: "whole job logs (getJobOutput without max_last_chars, over 1 MiB) streamed at once; more wait (default 4, 1-256)",
  },
  maxOutputSocketsPerUser: {
    env: ["OPENHQ_MAX_OUTPUT_SOCKETS_PER_USER"],
    ini: ["openhq.maxOutputSocketsPerUser"],
    kind: kinds.int(1, 256),
    default: 16,
    doc: "live-output WebSockets one user (or, without a login, one address) may hold open (default 16, 1-256)",
  },
  maxXmlDepth: {
    env: ["OPENHQ_MAX_XML_DEPTH"],
    ini: ["openhq.maxXmlDepth"],
    kind: kinds.int(4, 10_000),
    default: 64,
    doc: "deepest nesting of XML elements in a request; deeper is a parse Fault",
  },
  tlsCert: {
    env: ["OPENHQ_TLS_CERT"],
    ini: ["openhq.tlsCert"],
    kind: kinds.file,
    doc: "PEM certificate: serve https:// and wss:// (with tlsKey)",
  },
  tlsKey: { env: ["OPENHQ_TLS_KEY"], ini: ["openhq.tlsKey"], kind: kinds.file, doc: "PEM key of tlsCert" },
  maxConnections: {
    env: ["OPENHQ_MAX_CONNECTIONS"],
    ini: ["openhq.maxConnections"],
    kind: kinds.int(16, 1_000_000),
    default: 10_000,
    doc: "sockets port 5000 holds at once (16-1000000); keep it under the process's file limit",
  },
  maxConnectionsPerAddress: {
    env: ["OPENHQ_MAX_CONNECTIONS_PER_ADDRESS"],
    ini: ["openhq.maxConnectionsPerAddress"],
    kind: kinds.int(1, 1_000_000),
    default: 256,
    doc: "of those, from one address (1-1000000); agents past their hello do not count",
  },
  maxPendingAgents: {
    env: ["OPENHQ_MAX_PENDING_AGENTS"],
    ini: ["openhq.maxPendingAgents"],
    kind: kinds.int(1, 100_000),
    default: 512,
    doc: "/agent sockets not welcomed yet (1-100000); more get HTTP 503",
  },
  maxHelloBytes: {
    env: ["OPENHQ_MAX_HELLO_BYTES"],
    ini: ["openhq.maxHelloBytes"],
    kind: kinds.int(1024, 64 * 1024 * 1024),
    default: 16 * 1024,
    doc: "bytes an /agent socket may send before its hello is welcomed (1024-67108864)",
  },
  headersTimeoutSeconds: {
    env: ["OPENHQ_HEADERS_TIMEOUT"],
    ini: ["openhq.headersTimeoutSeconds"],
    kind: kinds.number(1, 3600),
    default: 20,
    doc: "seconds for a request's headers, or a new connection's first request (1-3600)",
  },
  requestTimeoutSeconds: {
    env: ["OPENHQ_REQUEST_TIMEOUT"],
    ini: ["openhq.requestTimeoutSeconds"],
    kind: kinds.number(1, 86_400),
    default: 300,
    doc: "seconds for a whole request to arrive (1-86400)",
  },
  bladeJobFailures: {
    ini: ["openhq.blade.jobFailures"],
    kind: kinds.int(0, 100),
    default: BLADE_DEFAULTS.jobFailures,
    doc: "failures of one job's frames on one blade before the blade takes no more of that job; 0 = never",
  },
  bladeQuarantineFailures: {
    ini: ["openhq.blade.quarantineFailures"],
    kind: kinds.custom((text) => {
      const n = Number(text.trim());
      if (!Number.isInteger(n) || (n !== 0 && (n < 2 || n > 20)))
        throw new KindError("0, or an integer between 2 and 20");
      return n;
    }),
    default: BLADE_DEFAULTS.quarantineFailures,
    doc: "failed frames (of >= 2 jobs that succeed elsewhere) within quarantineWindow that quarantine a blade; 0 = never",
  },
  bladeQuarantineWindow: {
    ini: ["openhq.blade.quarantineWindow"],
    kind: kinds.int(60, 86_400),
    default: BLADE_DEFAULTS.quarantineWindowS,
    doc: "seconds in which quarantineFailures must happen",
  },
  bladeProbation: {
    ini: ["openhq.blade.probation"],
    kind: kinds.int(10, 604_800),
    default: BLADE_DEFAULTS.probationS,
    doc: "seconds a quarantined blade waits before it takes one frame at a time again",
  },
  bladeQuarantineMaxPercent: {
    ini: ["openhq.blade.quarantineMaxPercent"],
    kind: kinds.int(1, 100),
    default: BLADE_DEFAULTS.quarantineMaxPercent,
    doc: "the most blades in quarantine at once, in % of the farm's blades (at least one blade; 1-100)",
  },
  smtpServer: {
    env: ["OPENHQ_SMTP_SERVER"],
    ini: ["smtp_server"],
    kind: kinds.trimmed,
    default: null,
    doc: "the mail server of job and error mail, host or host:port (port 25 by default); none = no mail",
  },
  smtpTls: {
    ini: ["openhq.smtp.tls"],
    kind: kinds.bool,
    default: false,
    doc: "TLS from the first byte (SMTPS, usually port 465) instead of STARTTLS",
  },
  smtpStartTls: {
    ini: ["openhq.smtp.starttls"],
    kind: kinds.custom((text) => {
      const t = text.trim().toLowerCase();
      if (t !== "auto" && t !== "required" && t !== "off") throw new KindError("auto, required or off");
      return t;
    }),
    default: "auto",
    doc: "STARTTLS: auto (when the server offers it), required, or off",
  },
  smtpUser: {
    ini: ["openhq.smtp.user"],
    kind: kinds.trimmed,
    default: null,
    doc: "user name to log in to smtp_server with (with smtp.passwordFile)",
  },
  smtpPasswordFile: {
    env: ["OPENHQ_SMTP_PASSWORD_FILE"],
    ini: ["openhq.smtp.passwordFile"],
    kind: kinds.file,
    doc: "file holding the SMTP password (never returned by getConfig)",
  },
  smtpFrom: {
    ini: ["openhq.smtp.from"],
    kind: kinds.trimmed,
    default: null,
    doc: "From: of job mail (default error_email_from, else openhq@<hostname>)",
  },
  errorEmailFrom: {
    ini: ["error_email_from"],
    kind: kinds.trimmed,
    default: null,
    doc: "From: of the error digest mail",
  },
  emailTo: {
    ini: ["email_to"],
    kind: kinds.trimmed,
    default: null,
    doc: "where the digest of server errors goes (comma-separated addresses); none = no digest",
  },
  noticesRetryMs: {
    ini: ["openhq.notices.retryMs"],
    kind: kinds.int(10, 3_600_000),
    default: 30_000,
    doc: "first wait before a failed mail or webhook delivery is tried again, ms; it doubles up to 30 min",
  },
  noticesGiveUpHours: {
    ini: ["openhq.notices.giveUpHours"],
    kind: kinds.number(0.001, 720),
    default: 24,
    doc: "hours a delivery is retried before it is given up (counted and logged)",
  },
  noticesMaxOutbox: {
    ini: ["openhq.notices.maxOutbox"],
    kind: kinds.int(100, 10_000_000),
    default: 10_000,
    doc: "notices the outbox holds; past it the oldest are dropped (counted and logged)",
  },
  noticesLeaseSeconds: {
    ini: ["openhq.notices.leaseSeconds"],
    kind: kinds.int(2, 3600),
    default: 60,
    doc: "how long a coordinator holds a notice it sends; a crashed one's are sent by another after this",
  },
  noticesPollMs: {
    ini: ["openhq.notices.pollMs"],
    kind: kinds.int(20, 60_000),
    default: 1000,
    doc: "how often each coordinator looks for due notices, ms",
  },
  noticesDigestMinutes: {
    ini: ["openhq.notices.digestMinutes"],
    kind: kinds.number(0.01, 1440),
    default: 5,
    doc: "minutes between two digests of server errors to email_to (at most one per period, farm-wide)",
  },
  auditKeepDays: {
    ini: ["openhq.audit.keepDays"],
    kind: kinds.number(0, 36_500),
    default: 0,
    doc: "days the audit log keeps a record (its Redis stream and its day files); 0 = no age bound",
  },
} satisfies OptionTable;

export const USAGE = `usage: openhq-coordinator [--config FILE] [--port N] [--host ADDR] [--redis URL]
                          [--data DIR] [--prefix P]

${Options.usage(OPTIONS, 18)}`;

export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): CoordinatorConfig {
  const options = new Options(OPTIONS, { argv, env, usage: USAGE });

  // OPENHQ_CONFIG="" means "no file at all", not even ./hqserver.ini.
  const configPath =
    options.get("config") ??
    (env["OPENHQ_CONFIG"] === "" ? null : env["OPENHQ_CONFIG"]) ??
    (existsSync("hqserver.ini") ? "hqserver.ini" : null);
  const raw = configPath === null ? {} : flatten(configPath);
  options.useIni(raw, configPath ?? "");

  const port = options.get("port");
  const host = options.get("host");
  let redisUrl = options.get("redis") ?? null;
  // A password kept in a file (openhq-redis.service makes one) goes into the URL, never into the ini.
  const password = redisUrl === null ? undefined : options.get("passwordFile");
  if (redisUrl !== null && password !== undefined) {
    try {
      const url = new URL(redisUrl);
      url.password = encodeURIComponent(password.toString("utf8").trim());
      redisUrl = url.toString();
    } catch (err) {
      throw new ConfigError(`redis: ${(err as Error).message}`, "redis");
    }
  }
  const dataDir = resolve(options.get("data") ?? defaultDataDir(env));
  const mount: Record<string, string> = {};
  const mountOptions = { linux: "mountLinux", windows: "mountWindows", macosx: "mountMacosx" } as const;
  for (const [platform, name] of Object.entries(mountOptions)) {
    const value = options.get(name);
    if (value !== undefined) mount[platform] = value;
  }

  if ((options.winner("tlsCert") === undefined) !== (options.winner("tlsKey") === undefined))
    throw new ConfigError("tlsCert and tlsKey go together: give both or neither", "tlsCert");
  const cert = options.get("tlsCert");
  const key = options.get("tlsKey");
  const tls = cert !== undefined && key !== undefined ? { cert, key } : null;
  const scheme = tls === null ? "http" : "https";

  const heartbeatIntervalMs = options.get("heartbeatIntervalMs");
  const frozenTimeoutSeconds = options.get("frozenTimeout");
  // A healthy agent is up to two heartbeats late under load: a shorter timeout would take its frames away.
  const frozenFloor = Math.ceil(notRespondingAfterMs(heartbeatIntervalMs) / 1000);
  if (frozenTimeoutSeconds > 0 && frozenTimeoutSeconds < frozenFloor)
    throw new ConfigError(
      `openhq.frozenTimeout: expected 0 or at least ${frozenFloor} seconds (two heartbeat intervals and a second)`,
      "frozenTimeout",
    );

  const settings: ServerSettings = {
    activeTimeoutMinutes: options.get("activeTimeout"),
    frozenTimeoutSeconds,
    maxLostAttempts: options.get("maxLostAttempts"),
    expireJobsDays: options.get("expireJobsDays"),
    heartbeatIntervalMs,
    sharedNetworkMount: mount,
    sharedNetworkHost: options.get("sharedNetworkHost"),
    sharedNetworkPath: options.get("sharedNetworkPath"),
    farmSecret: options.get("farmSecret"),
    maxOutputBytes: options.get("maxOutputBytes"),
    maxLogBytes: options.get("maxLogBytes"),
    stallTimeout: options.get("stallTimeout"),
    jobLogsDir: resolve(options.get("jobLogsDir") ?? join(dataDir, "job_logs")),
    waitReplicas: options.get("waitReplicas"),
    maxOutputSocketsPerUser: options.get("maxOutputSocketsPerUser"),
    sentAssignsPerLink: options.get("linkSentAssigns"),
    dispatch: {
      headsPage: options.get("dispatchHeadsPage"),
      classPage: options.get("dispatchClassPage"),
      reasonsWalk: options.get("reasonsWalk"),
      maintenanceMs: options.get("dispatchMaintenanceMs"),
    },
    blade: {
      jobFailures: options.get("bladeJobFailures"),
      quarantineFailures: options.get("bladeQuarantineFailures"),
      quarantineWindowS: options.get("bladeQuarantineWindow"),
      probationS: options.get("bladeProbation"),
      quarantineMaxPercent: options.get("bladeQuarantineMaxPercent"),
    },
    serverUrl:
      options.get("serverUrl") ??
      `${scheme}://${host === "0.0.0.0" || host === "::" ? hostname() : host}:${port}`,
    tlsPrivateCa: tls !== null && needsPrivateCa(tls.cert),
    shares: sharesFromIni(raw, options.get("fairShare") === "user", options.get("maxRunningPerUser")),
    raw,
  };

  // getConfig("job_logs_dir") answers the folder in use even when the file does not name it.
  if (raw["job_logs_dir"] === undefined) raw["job_logs_dir"] = settings.jobLogsDir;

  return {
    port,
    host,
    redis: { url: redisUrl, sentinels: options.get("sentinels"), sentinelName: options.get("sentinelName") },
    prefix: options.get("prefix"),
    dataDir,
    configPath: configPath === null ? null : resolve(configPath),
    maxRequestBytes: options.get("maxRequestBytes"),
    // By default a job's whole stored output (getJobOutput), escaped, still fits in one reply: with no
    // output cap that is up to the 400 MiB getJobOutput itself allows (api/jobs.ts), so 1 GiB.
    maxReplyBytes:
      options.get("maxReplyBytes") ??
      (settings.maxOutputBytes === 0
        ? 1024 * 1024 * 1024
        : Math.max(64 * 1024 * 1024, 2 * settings.maxOutputBytes + 1024 * 1024)),
    maxXmlDepth: options.get("maxXmlDepth"),
    maxLogReads: options.get("maxLogReads"),
    tls,
    limits: {
      maxConnections: options.get("maxConnections"),
      maxConnectionsPerAddress: options.get("maxConnectionsPerAddress"),
      maxPendingAgents: options.get("maxPendingAgents"),
      maxHelloBytes: options.get("maxHelloBytes"),
      headersTimeoutMs: options.get("headersTimeoutSeconds") * 1000,
      requestTimeoutMs: options.get("requestTimeoutSeconds") * 1000,
    },
    settings,
    notices: noticeSettings(
      {
        smtpServer: options.get("smtpServer"),
        smtpTls: options.get("smtpTls"),
        smtpStartTls: options.get("smtpStartTls"),
        smtpUser: options.get("smtpUser"),
        smtpPassword: options.get("smtpPasswordFile"),
        smtpFrom: options.get("smtpFrom"),
        errorEmailFrom: options.get("errorEmailFrom"),
        emailTo: options.get("emailTo"),
        retryMs: options.get("noticesRetryMs"),
        giveUpHours: options.get("noticesGiveUpHours"),
        maxOutbox: options.get("noticesMaxOutbox"),
        leaseSeconds: options.get("noticesLeaseSeconds"),
        pollMs: options.get("noticesPollMs"),
        digestMinutes: options.get("noticesDigestMinutes"),
        serverUrl: withoutCredentials(settings.serverUrl),
      },
      raw,
    ),
    auditKeepDays: options.get("auditKeepDays"),
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
      const port = match?.[2] === undefined ? 26379 : Number(match[2]);
      if (!match?.[1] || port < 1 || port > 65535)
        throw new KindError('"host:port" entries (port 1 to 65535)');
      return { host: match[1], port };
    });
}
