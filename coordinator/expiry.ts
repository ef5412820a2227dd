// Deletes finished root jobs older than hqserver.expireJobsDays, then the note threads of jobs and clients
// that are gone: once shortly after start, then every `intervalMs`. Several coordinators may run it at
// once; every delete is atomic and idempotent.

import { sweepOrphanThreads } from "./store/notes.js";
import type { Context } from "./context.js";
import { expireJobs } from "./store/jobs.js";
import { PeriodicTask } from "./periodic-task.js";

const DEFAULT_INTERVAL_MS = 10 * 60_000;
const FIRST_RUN_DELAY_MS = 5_000;

export class ExpiryTimer {
  private readonly task: PeriodicTask;

  constructor(ctx: Context, intervalMs = DEFAULT_INTERVAL_MS) {
    this.task = new PeriodicTask(
      async () => {
        if (ctx.settings.expireJobsDays > 0) await expireJobs(ctx);
        await sweepOrphanThreads(ctx);
      },
      (err) =>
        ctx.recordError({
          message: `expiry: ${err.message}`,
          time: Date.now(),
          ...(err.stack ? { stack: err.stack } : {}),
        }),
      intervalMs,
      FIRST_RUN_DELAY_MS,
    );
  }

  start(): void {
    this.task.start();
  }

  /** Stops the timer; resolves once a run in progress is over. */
  async stop(): Promise<void> {
    await this.task.stop();
  }
}
