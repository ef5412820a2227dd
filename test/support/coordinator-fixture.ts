// The setup API test files share: one real coordinator process on a private redis-server for the whole file
// (test/support/coordinator.ts), a Redis connection on its keys, and Python's xmlrpc.client (PRELUDE: hq,
// hq_strict, out, fault) pointed at it. Call useCoordinator() at the top of a test file: it registers the
// file's before/after hooks. Data the tests expect in Redis goes in `seed`, run in the same hook once the
// coordinator answers (top-level hooks of one file do not wait for each other on Node 20).

import { after, before } from "node:test";
import { Redis } from "ioredis";
import { Keys } from "../../coordinator/store/keys.js";
import { startCoordinator, type StartCoordinatorOptions, type TestCoordinator } from "./coordinator.js";
import { PRELUDE, python } from "./python.js";

export interface CoordinatorFixture {
  readonly coordinator: TestCoordinator;
  readonly url: string;
  /** A connection to the coordinator's Redis (opened on first use, closed after the file). */
  readonly redis: Redis;
  /** The key schema under the coordinator's prefix. */
  readonly keys: Keys;
  /** A key under the coordinator's prefix: key("job:7") = "<prefix>job:7". */
  key(suffix: string): string;
  /** Runs Python code after PRELUDE with HQSERVER = the coordinator; returns what it passed to out(). */
  py<T>(code: string): Promise<T>;
}

export function useCoordinator(
  /** Start options, or a function returning them, called in the hook (e.g. after writing a config file). */
  options: StartCoordinatorOptions | (() => StartCoordinatorOptions) = {},
  /** Runs once the coordinator answers, before the tests. */
  seed?: (fixture: CoordinatorFixture) => Promise<void>,
): CoordinatorFixture {
  let coordinator: TestCoordinator | null = null;
  let redis: Redis | null = null;
  const started = (): TestCoordinator => {
    if (coordinator === null)
      throw new Error("the coordinator starts in before(): use it in tests and hooks");
    return coordinator;
  };

  before(async () => {
    coordinator = await startCoordinator(typeof options === "function" ? options() : options);
    await seed?.(fixture);
  });
  after(async () => {
    redis?.disconnect();
    await coordinator?.stop();
  });

  const fixture: CoordinatorFixture = {
    get coordinator() {
      return started();
    },
    get url() {
      return started().url;
    },
    get redis() {
      redis ??= new Redis(started().redisUrl);
      return redis;
    },
    get keys() {
      return new Keys(started().prefix);
    },
    key: (suffix) => started().prefix + suffix,
    py: (code) => python(PRELUDE + code, { HQSERVER: started().url }),
  };
  return fixture;
}
