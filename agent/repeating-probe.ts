// A slow probe the agent caches (idle time, Windows CPU use): run at once, then again `everyMs` after each run
// ends, so two runs never overlap, on an unref'd timer that keeps no process alive. After stop() no run
// starts, even when stop() came while one was under way.

export class RepeatingProbe {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly everyMs: number,
    /** Runs the probe and stores its result; it handles its own errors. */
    private readonly run: () => Promise<void>,
  ) {}

  start(): void {
    this.stopped = false;
    const tick = async (): Promise<void> => {
      await this.run();
      if (this.stopped) return;
      this.timer = setTimeout(() => void tick(), this.everyMs);
      this.timer.unref();
    };
    void tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
