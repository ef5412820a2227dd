// A coordinator's background chore (the log sweep, job expiry, audit retention, the farm history sampler):
// run every `everyMs` on an unref'd timer, the first time `firstInMs` after start (0: at once), never two
// runs at once (a tick that finds a run under way is skipped), its failure handed to `failed`. stop() ends
// the timer and waits for a run in progress.

export class PeriodicTask {
  private first: NodeJS.Timeout | null = null;
  private every: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly run: () => Promise<unknown>,
    private readonly failed: (err: Error) => unknown,
    private readonly everyMs: number,
    private readonly firstInMs = everyMs,
  ) {}

  start(): void {
    if (this.every !== null) return;
    if (this.firstInMs === 0) this.tick();
    else if (this.firstInMs !== this.everyMs) {
      this.first = setTimeout(() => this.tick(), this.firstInMs);
      this.first.unref();
    }
    this.every = setInterval(() => this.tick(), this.everyMs);
    this.every.unref();
  }

  async stop(): Promise<void> {
    if (this.first !== null) clearTimeout(this.first);
    if (this.every !== null) clearInterval(this.every);
    this.first = this.every = null;
    await this.running;
  }

  private tick(): void {
    if (this.running !== null) return;
    this.running = this.run()
      .then(
        () => undefined,
        async (err: Error) => {
          await this.failed(err);
        },
      )
      .finally(() => (this.running = null));
  }
}
