// Moves job output from Redis to the file store, a segment at a time, and seals an attempt's log once the
// attempt is over. One writer at a time per attempt across every coordinator: a Redis lock (SET NX PX) that
// commitLog.lua and sealLog.lua check. Order of a flush: read the oldest chunks of the :q list, compress them
// into one gzip member, append and fsync it (LogFiles.append), then commitLog drops them from Redis. A crash
// between the fsync and the commit leaves bytes beyond the committed end, which the next flush truncates: the
// log is never torn nor duplicated, and Redis keeps every chunk until the file holds it.

import { createHash, randomBytes, type Hash } from "node:crypto";
import { lockLog, logScript, logState, waitingChunks } from "../store/logs.js";
import type { LogFiles } from "./files.js";
import type { LogContext } from "./index.js";

/** Raw bytes per gzip member: a tail read inflates about this much. */
export const SEGMENT_BYTES = 1024 * 1024;
/** Raw bytes one flush writes at most: its members are compressed in parallel and fsynced once. */
const FLUSH_BYTES = 4 * SEGMENT_BYTES;
/** A coordinator's copy of the chunks it appended (so a flush need not read them back) stays under this. */
const LOCAL_MAX_BYTES = 16 * 1024 * 1024;
/** A lock outlives any one flush by far; a writer that died holding it blocks the log this long at most. */
const LOCK_MS = 30_000;
/** Chunks read per LRANGE while gathering a segment. */
const PAGE = 32;
/** One server error per attempt per this long while its writes fail. */
const ERROR_EVERY_MS = 60_000;

export type FlushResult = "ok" | "busy" | "gone" | "failed";
export type SealResult = "ok" | "busy" | "gone" | "pending" | "failed";

/** The chunks this coordinator appended to an attempt's :q list, from log offset `start`, in list order. */
interface Local {
  start: number;
  chunks: Buffer[];
  bytes: number;
  used: number;
}

/** A running sha256 of an attempt's bytes [0, base), kept by the coordinator that flushed them. */
interface Running {
  base: number;
  hash: Hash;
  used: number;
}

export class LogWriter {
  /** Per "id:attempt", the flush or seal in progress here: they run one after another. */
  private readonly busy = new Map<string, Promise<unknown>>();
  private readonly hashes = new Map<string, Running>();
  private readonly lastError = new Map<string, number>();
  private readonly local = new Map<string, Local>();

  constructor(
    private readonly ctx: LogContext,
    readonly files: LogFiles,
  ) {}

  /** Writes the waiting output of an attempt to the file store: whole segments, or everything (`all`). */
  flush(jobId: number, attempt: number, all = false): Promise<FlushResult> {
    return this.serial(jobId, attempt, () =>
      this.locked(jobId, attempt, (token) => this.write(jobId, attempt, token, all)),
    );
  }

  /** The attempt is over: writes the rest and replaces its Redis keys by the small record. */
  seal(jobId: number, attempt: number): Promise<SealResult> {
    return this.serial(jobId, attempt, () =>
      this.locked(jobId, attempt, async (token): Promise<SealResult> => {
        const written = await this.write(jobId, attempt, token, true);
        if (written !== "ok") return written;
        const state = await logState(this.ctx, jobId, attempt);
        if (state === null) return "gone";
        if (state.bytes !== state.base) return "pending";
        const name = `${jobId}:${attempt}`;
        const running = this.hashes.get(name);
        this.hashes.delete(name);
        this.local.delete(name);
        const sha =
          running?.base === state.base
            ? running.hash.digest("hex")
            : await this.files.sha256(jobId, attempt, state);
        const result = (await logScript(this.ctx, "sealLog", [jobId, attempt, token, sha])) as string;
        return result === "lost" ? "busy" : (result as SealResult);
      }),
    );
  }

  /** Resolves once the flushes and seals running now are done (a clean stop leaves no lock behind). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.busy.values()]);
  }

  /** appendOutput.lua pushed these chunks, as they are, to the attempt's :q list from log offset `before`. */
  remember(jobId: number, attempt: number, before: number, chunks: (Buffer | string)[]): void {
    const name = `${jobId}:${attempt}`;
    let local = this.local.get(name);
    if (local === undefined || local.start + local.bytes !== before || local.bytes > LOCAL_MAX_BYTES) {
      local = { start: before, chunks: [], bytes: 0, used: 0 };
      this.local.set(name, local);
    }
    local.used = Date.now();
    for (const chunk of chunks) {
      const data = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
      local.chunks.push(data);
      local.bytes += data.length;
    }
  }

  /** Forgets running hashes and copies of attempts this coordinator has not flushed for a long time. */
  prune(olderThanMs: number): void {
    const cutoff = Date.now() - olderThanMs;
    for (const [name, running] of this.hashes) if (running.used < cutoff) this.hashes.delete(name);
    for (const [name, local] of this.local) if (local.used < cutoff) this.local.delete(name);
  }

  /** The oldest waiting chunks (from `base`), up to FLUSH_BYTES: from the local copy, else from Redis. */
  private async oldest(jobId: number, attempt: number, base: number, waiting: number): Promise<Buffer[]> {
    const name = `${jobId}:${attempt}`;
    const local = this.local.get(name);
    if (local !== undefined) {
      // Drop what is flushed already (list items and copies are the same chunks, so boundaries agree).
      while (local.start < base && local.chunks.length > 0) {
        const chunk = local.chunks.shift() as Buffer;
        local.start += chunk.length;
        local.bytes -= chunk.length;
      }
      if (local.start === base && local.bytes >= Math.min(waiting, FLUSH_BYTES)) {
        const chunks: Buffer[] = [];
        let size = 0;
        for (const chunk of local.chunks) {
          if (size >= FLUSH_BYTES) break;
          chunks.push(chunk);
          size += chunk.length;
        }
        return chunks;
      }
      // Older chunks came from elsewhere (a restart, another coordinator): those are read from Redis.
      if (local.start < base) this.local.delete(name);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    while (size < FLUSH_BYTES && size < waiting) {
      const page = await waitingChunks(this.ctx, jobId, attempt, chunks.length, PAGE);
      if (page.length === 0) break;
      for (const chunk of page) {
        if (size >= FLUSH_BYTES) break;
        chunks.push(chunk);
        size += chunk.length;
      }
    }
    return chunks;
  }

  private serial<T>(jobId: number, attempt: number, work: () => Promise<T>): Promise<T> {
    const name = `${jobId}:${attempt}`;
    const before = this.busy.get(name) ?? Promise.resolve();
    const next = before.then(work, work);
    // The caller handles `next`'s failure; the chain only orders the work.
    const tracked: Promise<unknown> = next
      .catch(() => undefined)
      .finally(() => {
        if (this.busy.get(name) === tracked) this.busy.delete(name);
      });
    this.busy.set(name, tracked);
    return next;
  }

  private async locked<T>(
    jobId: number,
    attempt: number,
    work: (token: string) => Promise<T>,
  ): Promise<T | "busy"> {
    const token = randomBytes(12).toString("hex");
    if (!(await lockLog(this.ctx, jobId, attempt, token, LOCK_MS))) return "busy";
    try {
      return await work(token);
    } finally {
      await logScript(this.ctx, "unlockLog", [jobId, attempt, token]);
    }
  }

  private async write(jobId: number, attempt: number, token: string, all: boolean): Promise<FlushResult> {
    for (;;) {
      const state = await logState(this.ctx, jobId, attempt);
      if (state === null) return "gone";
      const waiting = state.bytes - state.base;
      if (waiting === 0 || (!all && waiting < SEGMENT_BYTES)) return "ok";
      const chunks = await this.oldest(jobId, attempt, state.base, waiting);
      if (chunks.length === 0) return "ok";
      // Members of about SEGMENT_BYTES each, compressed at once on the thread pool.
      const groups: Buffer[] = [];
      let group: Buffer[] = [];
      let groupBytes = 0;
      for (const chunk of chunks) {
        group.push(chunk);
        groupBytes += chunk.length;
        if (groupBytes >= SEGMENT_BYTES) {
          groups.push(Buffer.concat(group, groupBytes));
          group = [];
          groupBytes = 0;
        }
      }
      if (group.length > 0) groups.push(Buffer.concat(group, groupBytes));
      const size = groups.reduce((n, g) => n + g.length, 0);
      try {
        const packed = await Promise.all(groups.map((g) => this.files.compress(g)));
        const members = groups.map((g, i) => ({ raw: g.length, packed: packed[i] as Buffer }));
        await this.files.append(jobId, attempt, state, members);
        const zLen = packed.reduce((n, p) => n + p.length, 0);
        const args = [jobId, attempt, token, state.base, chunks.length, size, zLen, members.length];
        const result = await logScript(this.ctx, "commitLog", args);
        if (result === "gone") return "gone";
        if (result !== "ok") return "busy";
      } catch (err) {
        this.failed(jobId, attempt, waiting, err as Error);
        return "failed";
      }
      this.lastError.delete(`${jobId}:${attempt}`);
      let offset = state.base;
      for (const g of groups) {
        this.hashUpdate(jobId, attempt, offset, g);
        offset += g.length;
      }
    }
  }

  private hashUpdate(jobId: number, attempt: number, base: number, data: Buffer): void {
    const name = `${jobId}:${attempt}`;
    let running = this.hashes.get(name);
    if (running?.base !== base) {
      this.hashes.delete(name);
      if (base !== 0) return;
      running = { base: 0, hash: createHash("sha256"), used: 0 };
      this.hashes.set(name, running);
    }
    running.hash.update(data);
    running.base += data.length;
    running.used = Date.now();
  }

  private failed(jobId: number, attempt: number, waiting: number, err: Error): void {
    const name = `${jobId}:${attempt}`;
    const now = Date.now();
    if (now - (this.lastError.get(name) ?? 0) < ERROR_EVERY_MS) return;
    this.lastError.set(name, now);
    void this.ctx.recordError({
      message:
        `job logs: cannot write job ${jobId} attempt ${attempt} to ${this.files.root}: ${err.message}; ` +
        `its output (${waiting} bytes) stays in Redis until it can be written, and the agent holds the rest`,
      time: now,
    });
  }
}
