// What the agent says while it cannot reach the coordinator. Each of the first few failed connects is
// logged with the URL, the reason and the wait before the next try; after that one line a minute with the
// count since the outage began, so an outage of hours stays visible (a changed coordinator URL, a firewall)
// without flooding the log. Cleared once the coordinator welcomes the agent.

/** Failed connects logged one by one before the agent goes down to one line a minute. */
const FIRST_FEW = 5;
const EVERY_MS = 60_000;

export class ConnectFailures {
  private count = 0;
  private since = 0;
  private lastLogged = 0;

  constructor(
    private readonly everyMs = EVERY_MS,
    private readonly firstFew = FIRST_FEW,
  ) {}

  /** One failed connect: the line to log, or null when this one stays quiet. */
  failed(url: string, reason: string, nextTryMs: number, now: number): string | null {
    this.count++;
    if (this.count === 1) this.since = now;
    const next = `next try in ${(nextTryMs / 1000).toFixed(1)} s`;
    if (this.count <= this.firstFew) {
      this.lastLogged = now;
      const quieter = this.count === this.firstFew ? "; from now on one line a minute" : "";
      return `cannot connect to ${url}: ${reason} (attempt ${this.count}, ${next}${quieter})`;
    }
    if (now - this.lastLogged < this.everyMs) return null;
    this.lastLogged = now;
    const minutes = Math.round((now - this.since) / 60_000);
    return `still cannot connect to ${url}: ${reason} (${this.count} attempts in ${minutes} min, ${next})`;
  }

  /** The failed attempts of the outage that just ended (0 when none), and forgets them. */
  clear(): number {
    const count = this.count;
    this.count = 0;
    return count;
  }
}
