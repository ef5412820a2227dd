// Test support for the job store and job API tests: a real redis-server, a Context built by hand, and an
// XML-RPC server serving only the job methods (so these tests do not depend on the whole coordinator).
// `assign` runs the scheduler's moveToAssigned transition the way dispatch does, on a client made up here.

import { once } from "node:events";
import type { AddressInfo } from "node:net";
import type { Redis } from "ioredis";
import { jobsMethods } from "../coordinator/api/jobs.js";
import type { Context } from "../coordinator/context.js";
import { JobStore } from "../coordinator/store/jobs.js";
import { Keys } from "../coordinator/store/keys.js";
import { runScript } from "../coordinator/store/scripts.js";
import { createXmlRpcServer } from "../shared/xmlrpc/index.js";
import { startRedis } from "./support/redis.js";

export interface JobsHarness {
  url: string;
  redis: Redis;
  keys: Keys;
  ctx: Context;
  store: JobStore;
  /** Puts a runnable job on client `clientId` (created on first use); returns the attempt. */
  assign(jobId: number, clientId?: number): Promise<number>;
  stop(): Promise<void>;
}

export async function startJobsHarness(maxOutputBytes = 1024 * 1024): Promise<JobsHarness> {
  const server = await startRedis();
  const redis = server.client();
  const keys = new Keys("t:");
  const ctx: Context = {
    redis,
    keys,
    settings: {
      activeTimeoutMinutes: 5,
      expireJobsDays: 0,
      heartbeatIntervalMs: 1000,
      sharedNetworkMount: {},
      sharedNetworkHost: null,
      sharedNetworkPath: null,
      agentToken: null,
      maxOutputBytes,
      serverUrl: "http://127.0.0.1:5000",
      raw: {},
    },
    recordError: async () => {},
  };
  const store = new JobStore(ctx);
  const http = createXmlRpcServer(jobsMethods(ctx));
  http.listen(0, "127.0.0.1");
  await once(http, "listening");
  const port = (http.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    redis,
    keys,
    ctx,
    store,
    async assign(jobId, clientId = 1) {
      await redis.hsetnx(keys.client(clientId), "hostname", `node${clientId}`);
      await redis.hsetnx(keys.client(clientId), "cpus", "64");
      const reply = (await runScript(redis, keys.prefix, "moveToAssigned", [jobId, clientId])) as unknown[];
      if (reply[0] !== "assigned") throw new Error(`job ${jobId} not assigned: ${JSON.stringify(reply)}`);
      return reply[1] as number;
    },
    async stop() {
      http.closeAllConnections();
      http.close();
      await server.stop();
    },
  };
}
