#!/usr/bin/env node
// openhq-coordinator: reads the configuration, connects to Redis (or starts a private redis-server), serves
// XML-RPC + dashboard + agent link on one port, runs the expiry timer, and shuts down cleanly on SIGTERM /
// SIGINT: stop accepting, finish requests in flight, close the agent link, close Redis, stop a private
// redis-server. Exit codes: 0 clean stop, 1 failed to start, 2 bad configuration.

import { join } from "node:path";
import { createXmlRpcHandler } from "../shared/xmlrpc/index.js";
import { apiMethods } from "./api/index.js";
import { AuditLog } from "./audit/index.js";
import { AuditRetention } from "./audit/retention.js";
import { AuthConfigError, loadAuth } from "./auth.js";
import { ConfigError, loadConfig, USAGE } from "./config.js";
import type { Context } from "./context.js";
import { errorRecorder } from "./store/errors.js";
import { EventFeed } from "./store/events.js";
import { ExpiryTimer } from "./expiry.js";
import { Lifecycle, type Service } from "./lifecycle.js";
import { attachAgentLink } from "./link/index.js";
import { LogStore } from "./logs/index.js";
import { resolveFarmSecret, withoutCredentials } from "./link/identity.js";
import { Scheduler } from "./scheduler/index.js";
import { RegisteredClients } from "./scheduler/registered.js";
import { writeSharesConfig } from "./store/shares.js";
import { connectRedis, waitForRedis } from "./redis/connect.js";
import { startEmbeddedRedis, type EmbeddedRedis } from "./redis/embedded.js";
import { loadHostList } from "./hosts.js";
import { ConnectionGate } from "../shared/connection-gate.js";
import {
  closeServer,
  createCoordinatorServer,
  guardUpgrades,
  listen,
  type RequestHandler,
} from "./server.js";
import { Metrics } from "./metrics.js";
import type { Services } from "./services.js";
import { NoticeSender } from "./notices/sender.js";
import { Keys } from "./store/keys.js";
import { loadLuaLibrary } from "./store/lua-scripts.js";
import { tuneRedis } from "./store/tune.js";
import { redactUrls } from "../shared/redact.js";
import { oneLine } from "../shared/log-line.js";
import { VERSION } from "../shared/version.js";
import { farmSigner } from "./web/artifact-signing.js";
import { attachWebSockets, webHandler } from "./web/index.js";
import { HistorySampler } from "./web/history.js";
import { EventStream } from "./web/event-stream.js";
import { isInstallRequest } from "./web/install.js";

const SHUTDOWN_GRACE_MS = 10_000;
/** Longest a shutdown may take before the process exits anyway (systemd's TimeoutStopSec is 30 s). */
const SHUTDOWN_LIMIT_MS = 20_000;

/** Stopped on every way out, so a failed start does not leave a redis-server behind. */
let embedded: EmbeddedRedis | null = null;

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(USAGE);
    return;
  }
  const config = loadConfig(argv, process.env);

  let redisTarget = config.redis;
  if (redisTarget.url === null && redisTarget.sentinels.length === 0) {
    embedded = await startEmbeddedRedis({ dir: join(config.dataDir, "redis") });
    redisTarget = { ...redisTarget, url: embedded.url };
    log(`private redis-server on 127.0.0.1:${embedded.port}, data in ${embedded.dir}`);
  }
  const redis = connectRedis(redisTarget);
  // ioredis reports each failed reconnect; one line per outage is enough.
  let redisDown = false;
  redis.on("error", (err: Error) => {
    if (!redisDown) log(`Redis connection problem: ${err.message}`);
    redisDown = true;
  });
  redis.on("ready", () => (redisDown = false));
  await waitForRedis(redis, 30_000);
  await loadLuaLibrary(redis);
  // Before anything is written, so that the sets this store searches on every job are made in the encoding
  // it is tuned for (store/tune.ts): a hash or zset keeps its encoding until it grows past a limit.
  await tuneRedis(redis);

  const keys = new Keys(config.prefix);
  const recordError = errorRecorder(redis, keys);
  const logs = await LogStore.open({ redis, keys, recordError }, config.settings.jobLogsDir, log);
  log(`job logs in ${config.settings.jobLogsDir}`);
  const configuredSecret = config.settings.farmSecret;
  const farm = await resolveFarmSecret({ redis, keys }, configuredSecret, config.dataDir);
  const settings = {
    ...config.settings,
    farmSecret: farm.secret,
    // A generated secret is kept in a file too, which rotateFarmSecret rewrites; a configured one is the ini's.
    farmSecretFile: configuredSecret === null ? join(config.dataDir, "farm-secret") : null,
  };
  const ctx: Context = { redis, keys, settings, recordError, logs };
  // The key that signs the agent artifact: made now, so installers can pin it from the first install.
  await farmSigner(ctx);
  if (farm.generated) {
    // Printed once, by the coordinator that created it; later starts read it from Redis.
    const served = withoutCredentials(ctx.settings.serverUrl).replace(/\/+$/, "");
    process.stdout.write(
      `farm secret generated (kept in Redis and ${join(config.dataDir, "farm-secret")}): ${farm.secret}\n` +
        `add a machine (or open ${served}/install): ` +
        `curl -fsSL ${served}/install/agent.sh | sudo sh -s -- --secret ${farm.secret}\n`,
    );
  }
  const auth = loadAuth(ctx.settings.raw, process.env);
  const metrics = new Metrics(ctx);
  // One subscription to the store's notices for the whole process (the scheduler's and the event stream's).
  const feed = new EventFeed(ctx);
  const registered = new RegisteredClients(ctx);
  const services: Services = { ctx, auth, metrics, events: new EventStream(ctx, feed) };
  const methods = apiMethods(ctx, registered);
  const audit = new AuditLog(ctx, new Set(Object.keys(methods)), log, (req) => auth.caller(req).user);
  const auditRetention =
    config.auditKeepDays > 0
      ? new AuditRetention(ctx, audit.files?.dir ?? null, config.auditKeepDays, log)
      : null;
  const rpc = createXmlRpcHandler(methods, {
    maxBodyBytes: config.maxRequestBytes,
    maxDepth: config.maxXmlDepth,
    maxReplyBytes: config.maxReplyBytes,
    maxStreamedReplies: config.maxLogReads,
    admit: auth.admit,
    onCall: metrics.onCall,
    authorize: auth.authorize,
    audit: audit.hook,
    onError: (error: Error, method?: string) => {
      void ctx.recordError({
        message: error.message,
        time: Date.now(),
        ...(method === undefined ? {} : { method }),
        ...(error.stack === undefined ? {} : { stack: error.stack }),
      });
    },
  });
  const hosts = loadHostList(config.settings.raw, process.env, ctx.settings.serverUrl, config.host);
  const server = createCoordinatorServer(
    // Credentials are checked (a slow hash at most once per login) before either handler looks at them.
    { rpc: auth.gate(rpc), web: auth.gate(dashboard(services), isInstallRequest) },
    hosts,
    config.tls ?? undefined,
    { headersMs: config.limits.headersTimeoutMs, requestMs: config.limits.requestTimeoutMs },
  );
  const { limits } = config;
  const gate = new ConnectionGate(
    server,
    { total: limits.maxConnections, perAddress: limits.maxConnectionsPerAddress },
    (count) =>
      log(`refused ${count} connection(s) over openhq.maxConnections or openhq.maxConnectionsPerAddress`),
  );
  const upgrades = guardUpgrades(server, hosts);
  // The ini's shares and caps go to Redis before the first dispatch (every coordinator of the farm does so).
  if (ctx.settings.shares) await writeSharesConfig(ctx, ctx.settings.shares);
  // The link is built from the scheduler's dispatcher; the scheduler assigns through it once both started.
  const scheduler = new Scheduler(ctx, feed, registered, { deliver: (job) => link.deliver(job) });
  const link = attachAgentLink(server, services, scheduler.dispatcher, { ...limits, gate }, (entry) =>
    audit.record(entry),
  );
  const sockets = attachWebSockets(server, ctx, auth);
  /** The HTTP server's close: begun first on the way out, awaited once the sockets it waits for are closed. */
  let serverClosed: Promise<void> = Promise.resolve();
  const listener: Service = {
    async start() {
      const port = await listen(server, config.port, config.host);
      // A failed accept() (no file handles left) must not end the coordinator.
      server.on("error", (err) => log(`port ${port}: ${err.message}`));
      log(
        `openhq-coordinator ${VERSION} listening on ${config.tls ? "https" : "http"}://${config.host}:${port} (prefix "${config.prefix}")`,
      );
    },
    stop() {
      // Event streams never end by themselves: end them, or the server would wait its whole grace for them.
      services.events.close();
      serverClosed = closeServer(server, SHUTDOWN_GRACE_MS);
    },
  };
  const lifecycle = new Lifecycle(log);
  await lifecycle.start([
    ["job logs", ctx.logs],
    ["audit log", { start() {}, stop: () => audit.stop() }],
    ...(auditRetention ? ([["audit retention", auditRetention]] as const) : []),
    // Stopped once everything above it has: the requests in flight end (or are cut at the grace).
    [
      "HTTP connections",
      {
        start() {},
        async stop() {
          upgrades.destroyAll();
          await serverClosed;
        },
      },
    ],
    ["agent link", { start() {}, stop: () => link.close() }],
    ["dashboard sockets", { start() {}, stop: () => sockets.close() }],
    ["scheduler", scheduler],
    ["expiry", new ExpiryTimer(ctx)],
    ["farm history", new HistorySampler(ctx)],
    ["notices", new NoticeSender(ctx, config.notices, metrics, log)],
    ["HTTP listener", listener],
  ]);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: shutting down`);
    // Whatever hangs (a peer that never reads, a stuck Redis), the process ends within a bound.
    setTimeout(() => {
      log(`shutdown took over ${SHUTDOWN_LIMIT_MS} ms: exiting now`);
      void (embedded?.stop() ?? Promise.resolve()).finally(() => process.exit(1));
      setTimeout(() => process.exit(1), 5000).unref();
    }, SHUTDOWN_LIMIT_MS).unref();
    await lifecycle.stop();
    await redis.quit().catch(() => redis.disconnect());
    await embedded?.stop();
    log("stopped");
    process.exit(0);
  };
  // A promise some part forgot to handle must not take the farm down; it is logged where operators look.
  process.on("unhandledRejection", (reason) => {
    const err = reason instanceof Error ? reason : new Error(String(reason));
    log(`unhandled rejection: ${err.stack ?? err.message}`);
    void ctx.recordError({
      message: `unhandled rejection: ${err.message}`,
      time: Date.now(),
      ...(err.stack ? { stack: err.stack } : {}),
    });
  });
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

/** The dashboard, or a 503 page if it cannot load: the XML-RPC API must not depend on the web assets. */
function dashboard(services: Services): RequestHandler {
  const { ctx } = services;
  try {
    return webHandler(services);
  } catch (err) {
    const message = `dashboard unavailable: ${(err as Error).message}`;
    log(message);
    void ctx.recordError({
      message,
      time: Date.now(),
      ...((err as Error).stack ? { stack: (err as Error).stack } : {}),
    });
    return (_req, res) => {
      res.writeHead(503, { "content-type": "text/plain" }).end(`${message}\n`);
    };
  }
}

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString()} ${oneLine(redactUrls(line))}\n`);
}

main().catch(async (err: unknown) => {
  await embedded?.stop().catch(() => {});
  if (err instanceof ConfigError || err instanceof AuthConfigError) {
    process.stderr.write(`openhq-coordinator: ${redactUrls(err.message)}\n`);
    process.exit(2);
  }
  process.stderr.write(
    `openhq-coordinator: ${redactUrls(err instanceof Error ? (err.stack ?? err.message) : String(err))}\n`,
  );
  process.exit(1);
});
