// The heartbeat clock: fires every `intervalMs` ± 10 % (so a farm's agents do not beat in lockstep after a
// coordinator restart), and at once on `now()` (wakeup()).

const JITTER = 0.1;

export class Heartbeat {
  private timer: NodeJS.Timeout | null = null;
  private intervalMs: number;

  constructor(
    defaultIntervalMs: number,
    private readonly beat: () => void,
  ) {
    this.intervalMs = defaultIntervalMs;
  }

  /** Starts (or restarts) the clock; `intervalMs` from the coordinator's welcome wins over the default. */
  start(intervalMs?: number): void {
    if (intervalMs !== undefined && intervalMs > 0) this.intervalMs = intervalMs;
    this.schedule();
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Beats now and restarts the period. */
  now(): void {
    this.beat();
    if (this.timer !== null) this.schedule();
  }

  private schedule(): void {
    this.stop();
    const delay = this.intervalMs * (1 - JITTER + Math.random() * 2 * JITTER);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.beat();
      this.schedule();
    }, delay);
  }
}
