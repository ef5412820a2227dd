// Deletes finished root jobs older than hqserver.expireJobsDays, then the note threads of jobs and clients
// that are gone: once shortly after start, then every `intervalMs`. Several coordinators may run it at
// once; every delete is atomic and idempotent.

import { sweepOrphanThreads } from "./store/notes.js";
import type { Context } from "./context.js";
import { expireJobs } from "./store/jobs.js";

const DEFAULT_INTERVAL_MS = 10 * 60_000;
const FIRST_RUN_DELAY_MS = 5_000;

export interface ExpiryTimer {
  stop(): Promise<void>;
}

export function startExpiryTimer(ctx: Context, intervalMs = DEFAULT_INTERVAL_MS): ExpiryTimer {
  let running: Promise<void> | null = null;
  const run = () => {
    if (running !== null) return;
    running = (async () => {
      if (ctx.settings.expireJobsDays > 0) await expireJobs(ctx);
      await sweepOrphanThreads(ctx);
    })()
      .catch((err: Error) =>
        ctx.recordError({
          message: `expiry: ${err.message}`,
          time: Date.now(),
          ...(err.stack ? { stack: err.stack } : {}),
        }),
      )
      .finally(() => (running = null));
  };
  const first = setTimeout(run, FIRST_RUN_DELAY_MS);
  const every = setInterval(run, intervalMs);
  first.unref();
  every.unref();
  return {
    async stop() {
      clearTimeout(first);
      clearInterval(every);
      await running;
    },
  };
}
