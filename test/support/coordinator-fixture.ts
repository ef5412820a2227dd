// The setup API test files share: one real coordinator process on a private redis-server for the whole file
// (test/support/coordinator.ts), a Redis connection on its keys, and Python's xmlrpc.client (PRELUDE: hq,
// hq_strict, out, fault) pointed at it. Call useCoordinator() at the top of a test file: it registers the
// file's before/after hooks. Data the tests expect in Redis goes in `seed`, run in the same hook once the
// coordinator answers (top-level hooks of one file do not wait for each other on Node 20).

import { after, before } from "node:test";
import { Redis } from "ioredis";
import type { Keys } from "../../coordinator/store/keys.js";
import { startCoordinator, type StartCoordinatorOptions, type TestCoordinator } from "./coordinator.js";
import { ProtocolPeer, type PeerOptions } from "./protocol-peer.js";
import { isFinished } from "../../shared/statuses.js";
import { until } from "./eventually.js";
import { PRELUDE, python } from "./python.js";

export interface CoordinatorFixture {
  readonly coordinator: TestCoordinator;
  readonly url: string;
  /** A connection to the coordinator's Redis (opened on first use, closed after the file). */
  readonly redis: Redis;
  /** The key schema under the coordinator's prefix. */
  readonly keys: Keys;
  /** Runs Python code after PRELUDE with HQSERVER = the coordinator; returns what it passed to out(). */
  py<T>(code: string): Promise<T>;
  /** newjob of each spec, in one Python process: the id of each (a tree's root's). */
  submit(...specs: Record<string, unknown>[]): Promise<number[]>;
  /** Waits until job `id` is finished (its status in Redis). */
  finished(id: number): Promise<void>;
}

/** A coordinator fixture started outside a hook (e.g. from a harness's own before); stop() ends it. */
export interface StartedCoordinator extends CoordinatorFixture {
  stop(): Promise<void>;
}

export async function startCoordinatorWithRedis(
  options: StartCoordinatorOptions = {},
): Promise<StartedCoordinator> {
  const coordinator = await startCoordinator(options);
  let redis: Redis | null = null;
  const started: StartedCoordinator = {
    coordinator,
    url: coordinator.url,
    get redis() {
      redis ??= new Redis(coordinator.redisUrl);
      return redis;
    },
    keys: coordinator.keys,
    py: (code) => python(PRELUDE + code, { HQSERVER: coordinator.url }),
    submit: (...specs) =>
      started.py(`out([hq.newjob(s)[0] for s in json.loads(${JSON.stringify(JSON.stringify(specs))})])`),
    finished: (id) =>
      until(
        `job ${id} to finish`,
        () => started.redis.hget(coordinator.keys.job(id), "status"),
        (status) => isFinished(status ?? ""),
      ).then(() => undefined),
    async stop() {
      redis?.disconnect();
      await coordinator.stop();
    },
  };
  return started;
}

/**
 * Start options, or a function returning them, called in the hook (e.g. after writing a config file, or once
 * a server the config names is up).
 */
export type FixtureOptions =
  StartCoordinatorOptions | (() => StartCoordinatorOptions | Promise<StartCoordinatorOptions>);

export function useCoordinator(
  options: FixtureOptions = {},
  /** Runs once the coordinator answers, before the tests. */
  seed?: (fixture: CoordinatorFixture) => Promise<void>,
  /** Runs after the tests, before the coordinator stops (e.g. stops the agents `seed` started). */
  stopFirst?: () => Promise<void> | undefined,
): CoordinatorFixture {
  let started: StartedCoordinator | null = null;
  const running = (): StartedCoordinator => {
    if (started === null) throw new Error("the coordinator starts in before(): use it in tests and hooks");
    return started;
  };

  before(async () => {
    started = await startCoordinatorWithRedis(typeof options === "function" ? await options() : options);
    await seed?.(fixture);
  });
  after(async () => {
    await stopFirst?.();
    await started?.stop();
  });

  const fixture: CoordinatorFixture = {
    get coordinator() {
      return running().coordinator;
    },
    get url() {
      return running().url;
    },
    get redis() {
      return running().redis;
    },
    get keys() {
      return running().keys;
    },
    py: (code) => running().py(code),
    submit: (...specs) => running().submit(...specs),
    finished: (id) => running().finished(id),
  };
  return fixture;
}

/** The peers of one test file: connect(opts) starts one on the file's defaults; all are closed after it. */
export function usePeers(
  defaults: () => PeerOptions,
): (opts?: Partial<PeerOptions>) => Promise<ProtocolPeer> {
  const peers: ProtocolPeer[] = [];
  after(() => {
    for (const p of peers) p.close();
  });
  return (opts = {}) => {
    const p = new ProtocolPeer({ ...defaults(), ...opts });
    peers.push(p);
    return p.connect();
  };
}
