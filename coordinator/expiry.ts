// Deletes finished root jobs older than hqserver.expireJobsDays, then the note threads of jobs and clients
// that are gone: once shortly after start, then every `intervalMs`. Several coordinators may run it at
// once; every delete is atomic and idempotent.

import { sweepOrphanThreads } from "./store/notes.js";
import type { Context } from "./context.js";
import { expireJobs } from "./store/jobs.js";

const DEFAULT_INTERVAL_MS = 10 * 60_000;
const FIRST_RUN_DELAY_MS = 5_000;

export class ExpiryTimer {
  private first: NodeJS.Timeout | null = null;
  private every: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly ctx: Context,
    private readonly intervalMs = DEFAULT_INTERVAL_MS,
  ) {}

  start(): void {
    this.first = setTimeout(() => this.run(), FIRST_RUN_DELAY_MS);
    this.every = setInterval(() => this.run(), this.intervalMs);
    this.first.unref();
    this.every.unref();
  }

  /** Stops the timer; resolves once a run in progress is over. */
  async stop(): Promise<void> {
    if (this.first) clearTimeout(this.first);
    if (this.every) clearInterval(this.every);
    await this.running;
  }

  private run(): void {
    if (this.running !== null) return;
    const { ctx } = this;
    this.running = (async () => {
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
      .finally(() => (this.running = null));
  }
}
