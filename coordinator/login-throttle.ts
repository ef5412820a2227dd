// Failed-login budgets for coordinator/auth.ts: each address and each configured user may fail a number of
// times per minute (a token bucket: that many at once, then refilled evenly over the minute). An exhausted
// budget makes the coordinator refuse further unverified credentials of that address or user (HTTP 429)
// without checking them, so password guessing runs at a few guesses a minute instead of thousands a second.
//
// Memory is bounded: at most `maxKeys` entries per table, the least recently failed dropped first. A full
// bucket is the same as no entry, so an entry only exists while its key has failed recently.

/** Where one key's budget stands: tokens left at time `at` (ms). */
interface Bucket {
  tokens: number;
  at: number;
}

export class FailureBudget {
  private readonly buckets = new Map<string, Bucket>();
  private readonly refillPerMs: number;

  constructor(
    private readonly perMinute: number,
    private readonly maxKeys: number,
  ) {
    this.refillPerMs = perMinute / 60_000;
  }

  private tokens(key: string, now: number): number {
    const bucket = this.buckets.get(key);
    if (bucket === undefined) return this.perMinute;
    return Math.min(this.perMinute, bucket.tokens + (now - bucket.at) * this.refillPerMs);
  }

  /** True when `key` has no failures left: its next attempt is refused unchecked. */
  spent(key: string, now: number): boolean {
    return this.tokens(key, now) < 1;
  }

  /** Seconds until `key` may try again. */
  retryAfterSeconds(key: string, now: number): number {
    return Math.max(1, Math.ceil((1 - this.tokens(key, now)) / this.refillPerMs / 1000));
  }

  /** Counts a failure of `key`; true when this failure spent its budget (worth one log line). */
  fail(key: string, now: number): boolean {
    const tokens = this.tokens(key, now) - 1;
    // Re-inserted so the Map's order is "least recently failed first", the order entries are dropped in.
    this.buckets.delete(key);
    this.buckets.set(key, { tokens, at: now });
    if (this.buckets.size > this.maxKeys) {
      const oldest = this.buckets.keys().next();
      if (!oldest.done) this.buckets.delete(oldest.value);
    }
    return tokens < 1;
  }

  get size(): number {
    return this.buckets.size;
  }
}

/**
 * The key an address is counted under: IPv4 addresses (also IPv4-mapped IPv6) as they are, IPv6 addresses
 * by their /64 prefix, since one host usually owns a whole /64 and could otherwise try from 2^64 addresses.
 */
export function addressKey(address: string | undefined): string {
  if (address === undefined) return "unknown";
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return mapped[1];
  if (!address.includes(":")) return address;
  const [head = "", tail] = address.split("::");
  const front = head === "" ? [] : head.split(":");
  const back = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = [...front, ...Array<string>(Math.max(0, 8 - front.length - back.length)).fill("0"), ...back];
  return `${groups
    .slice(0, 4)
    .map((g) => (Number.parseInt(g, 16) || 0).toString(16))
    .join(":")}::/64`;
}
