// Test support for the job store and job API tests, in one of two shapes:
// - direct: a real redis-server, a Context built by hand and an XML-RPC server serving only the job methods;
// - coordinator: a real coordinator process (test/support/coordinator-fixture.ts) and a store on its Redis and prefix.
// Either way `assign` runs the scheduler's moveToAssigned transition the way dispatch does, on a client made
// up here (no agents in these tests), and `store` drives the store's transitions directly.

import { once } from "node:events";
import type { AddressInfo } from "node:net";
import type { Redis } from "ioredis";
import { jobsMethods } from "../coordinator/api/jobs.js";
import type { LogStore } from "../coordinator/logs/index.js";
import { JobStore } from "../coordinator/store/jobs.js";
import { Keys } from "../coordinator/store/keys.js";
import { runScript } from "../coordinator/store/lua-scripts.js";
import { createXmlRpcServer } from "../shared/xmlrpc/index.js";
import { startCoordinatorWithRedis } from "./support/coordinator-fixture.js";
import { testContext, testLogs } from "./support/context.js";
import { startRedis } from "./support/redis.js";
import { RegisteredClients } from "../coordinator/scheduler/registered.js";

export interface JobsHarness {
  url: string;
  redis: Redis;
  keys: Keys;
  store: JobStore;
  /** The job log store the harness's store writes output to (as a coordinator's does). */
  logs: LogStore;
  /** Puts a runnable job on client `clientId` (made up on first use, with no agent); returns the attempt. */
  assign(jobId: number, clientId?: number): Promise<number>;
  /** The seq the attempt's next event must carry: the fence refuses a gap. */
  nextSeq(jobId: number, attempt: number): Promise<number>;
  stop(): Promise<void>;
}

export interface JobsHarnessOptions {
  maxOutputBytes?: number;
  /** Serve the API from a real coordinator process instead of an in-process server. */
  coordinator?: boolean;
}

export async function startJobsHarness(opts: JobsHarnessOptions = {}): Promise<JobsHarness> {
  const maxOutputBytes = opts.maxOutputBytes ?? 1024 * 1024;
  return opts.coordinator ? overCoordinator(maxOutputBytes) : direct(maxOutputBytes);
}

function harness(
  url: string,
  redis: Redis,
  keys: Keys,
  maxOutputBytes: number,
  logs: LogStore,
  stop: () => Promise<void>,
) {
  const store = new JobStore({ redis, keys, settings: { maxOutputBytes }, logs });
  return {
    url,
    redis,
    keys,
    store,
    logs,
    // The default client id is far from the coordinator's own, so its dispatcher never knows that client.
    async assign(jobId: number, clientId = 900_001) {
      await redis.hsetnx(keys.client(clientId), "hostname", `node${clientId}`);
      await redis.hsetnx(keys.client(clientId), "cpus", "64");
      const reply = (await runScript(redis, keys.prefix, "moveToAssigned", [jobId, clientId])) as unknown[];
      if (reply[0] !== "assigned") throw new Error(`job ${jobId} not assigned: ${JSON.stringify(reply)}`);
      return reply[1] as number;
    },
    async nextSeq(jobId: number, attempt: number) {
      const [seqAttempt, eventSeq] = await redis.hmget(keys.job(jobId), "seqAttempt", "eventSeq");
      return Number(seqAttempt) === attempt ? Number(eventSeq) + 1 : 1;
    },
    stop,
  };
}

async function overCoordinator(maxOutputBytes: number): Promise<JobsHarness> {
  const farm = await startCoordinatorWithRedis({ env: { OPENHQ_MAX_OUTPUT_BYTES: String(maxOutputBytes) } });
  // The harness's own store writes output beside the coordinator's, in the farm's one log folder.
  const logs = await testLogs(farm.redis, farm.keys, { dir: farm.coordinator.jobLogsDir });
  return harness(farm.url, farm.redis, farm.keys, maxOutputBytes, logs, async () => {
    await logs.stop();
    await farm.stop();
  });
}

async function direct(maxOutputBytes: number): Promise<JobsHarness> {
  const server = await startRedis();
  const redis = server.client();
  const keys = new Keys("t:");
  const ctx = await testContext(redis, keys, { maxOutputBytes });
  const http = createXmlRpcServer(jobsMethods(ctx, new RegisteredClients(ctx)));
  http.listen(0, "127.0.0.1");
  await once(http, "listening");
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return harness(url, redis, keys, maxOutputBytes, ctx.logs, async () => {
    await ctx.logs.stop();
    http.closeAllConnections();
    http.close();
    await server.stop();
  });
}
