// Replica confirmation (openhq.redis.waitReplicas = N > 0): before the link acknowledges an agent's events
// or sends an assignment, the writes behind them must be on N replicas, so a Sentinel failover cannot
// forget a completion the agent already deleted, or an assignment an agent already runs.
//
// WAIT covers the writes of the connection that calls it and blocks that connection, so it runs on a
// connection of its own: a tiny write there first (its replication offset is past every write any
// connection finished before it), then WAIT. Callers arriving while one WAIT is out share the next one.

import type { Redis } from "ioredis";
import type { Context } from "../context.js";

/** How long one WAIT may block its (dedicated) connection. */
const WAIT_TIMEOUT_MS = 1000;
const RETRY_MAX_MS = 2000;

export class ReplicaWait {
  private readonly conn: Redis | null;
  private inflight: Promise<void> | null = null;
  private next: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly ctx: Context,
    readonly replicas = ctx.settings.waitReplicas ?? 0,
  ) {
    this.conn = replicas > 0 ? ctx.redis.duplicate() : null;
    this.conn?.on("error", () => {}); // ioredis reconnects (and follows Sentinel) by itself
  }

  get enabled(): boolean {
    return this.conn !== null;
  }

  /** Resolves once every write finished before this call is on `replicas` replicas; rejects when not. */
  sync(): Promise<void> {
    if (this.conn === null) return Promise.resolve();
    if (this.inflight === null) {
      this.inflight = this.wait().finally(() => (this.inflight = null));
      return this.inflight;
    }
    // The WAIT out now may have started before the caller's write: wait for the one after it.
    this.next ??= this.inflight
      .catch(() => {})
      .then(() => {
        this.next = null;
        return this.sync();
      });
    return this.next;
  }

  /** sync(), tried again with backoff until it succeeds or close() (then it resolves false). */
  async confirmed(): Promise<boolean> {
    let delay = 50;
    for (;;) {
      if (this.closed) return false;
      try {
        await this.sync();
        return true;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, delay).unref());
        delay = Math.min(2 * delay, RETRY_MAX_MS);
      }
    }
  }

  close(): void {
    this.closed = true;
    this.conn?.disconnect();
  }

  private async wait(): Promise<void> {
    const conn = this.conn as Redis;
    await conn.incr(this.ctx.keys.replicaWait);
    const reached = Number(await conn.call("WAIT", this.replicas, WAIT_TIMEOUT_MS));
    if (reached < this.replicas)
      throw new Error(`only ${reached} of ${this.replicas} Redis replicas confirmed the writes`);
  }
}
