// The job log store: every attempt's output, whole, compressed, under job_logs_dir (files.ts), with Redis
// holding only a bounded window of what is not on disk yet and, per finished attempt, a small record
// (store/lua/includes/logKeys.lua). appendOutput.lua puts output in Redis; the coordinator that applied it
// flushes whole segments as they fill (writer.ts) and seals the attempt's log when it finishes; the sweep
// (sweeper.ts) seals what no coordinator saw finish, retries failed writes and removes deleted jobs' files.

import { join } from "node:path";
import type { Readable } from "node:stream";
import type { Context } from "../context.js";
import { readView, type LogView } from "../store/logs.js";
import { LogFiles } from "./files.js";
import { checkLogDir } from "./marker.js";
import { readBytes, streamBytes } from "./read.js";
import { LogSweeper } from "./sweeper.js";
import { LogWriter, SEGMENT_BYTES, type FlushResult } from "./writer.js";

export { LogDirError } from "./marker.js";

/** Bytes of one attempt's output Redis holds at most while they wait for the file store. */
export const WINDOW_BYTES = 6 * 1024 * 1024;

/** What the log store and its parts (writer, sweeper) need of the coordinator's context. */
export type LogContext = Pick<Context, "redis" | "keys" | "recordError">;

export class LogStore {
  readonly files: LogFiles;
  readonly writer: LogWriter;
  private readonly sweeper: LogSweeper;
  /** Per "id:attempt" appended here: the flush running now, and the bytes waiting in Redis at the last append. */
  private readonly flushing = new Map<string, Promise<FlushResult>>();
  private readonly waiting = new Map<string, number>();

  private constructor(
    private readonly ctx: LogContext,
    readonly dir: string,
  ) {
    // One folder per key prefix: farms (or tests) sharing a Redis may share a log folder too.
    this.files = new LogFiles(join(dir, prefixFolder(ctx.keys.prefix)));
    this.writer = new LogWriter(ctx, this.files);
    this.sweeper = new LogSweeper(ctx, this.writer);
  }

  /** Checks the folder (writable, the farm's shared one: marker.ts); start() starts the sweep. */
  static async open(ctx: LogContext, dir: string, log: (line: string) => void): Promise<LogStore> {
    const store = new LogStore(ctx, dir);
    for (const notice of await checkLogDir(ctx, dir, store.files.root)) log(notice);
    return store;
  }

  start(): void {
    this.sweeper.start();
  }

  async stop(): Promise<void> {
    await this.sweeper.stop();
    await this.writer.idle();
  }

  /** appendOutput.lua applied output and `waiting` bytes of the attempt wait in Redis. */
  appended(jobId: number, attempt: number, waiting: number): void {
    const name = `${jobId}:${attempt}`;
    if (this.waiting.size > 100_000) this.waiting.clear();
    this.waiting.set(name, waiting);
    // A running flush goes on while whole segments wait: it need not be asked again.
    if (waiting >= SEGMENT_BYTES && !this.flushing.has(name))
      this.background(this.startFlush(jobId, attempt));
  }

  /**
   * Waits until `incoming` more bytes fit in the attempt's window (as of the last append here), so
   * appendOutput.lua seldom has to refuse a batch as 'full' after it was sent to Redis.
   */
  async room(jobId: number, attempt: number, incoming: number): Promise<void> {
    const name = `${jobId}:${attempt}`;
    const waiting = this.waiting.get(name) ?? 0;
    if (waiting === 0 || waiting + incoming <= WINDOW_BYTES) return;
    // A failed flush is recorded where it ran; the append that follows decides ('full' or not).
    await (this.flushing.get(name) ?? this.startFlush(jobId, attempt)).catch(() => undefined);
    this.waiting.set(name, 0);
  }

  /** Writes all waiting output now (appendOutput.lua answered 'full'), after the flush running here. */
  async flush(jobId: number, attempt: number): Promise<FlushResult> {
    await this.flushing.get(`${jobId}:${attempt}`)?.catch(() => undefined);
    return this.writer.flush(jobId, attempt, true);
  }

  private startFlush(jobId: number, attempt: number): Promise<FlushResult> {
    const name = `${jobId}:${attempt}`;
    const flush = this.writer.flush(jobId, attempt).finally(() => this.flushing.delete(name));
    this.flushing.set(name, flush);
    return flush;
  }

  /** The attempt is over (its `finished` was applied here): seal its log now, not at the next sweep. */
  attemptOver(jobId: number, attempt: number): void {
    this.waiting.delete(`${jobId}:${attempt}`);
    this.background(this.writer.seal(jobId, attempt));
  }

  view(jobId: number, attempt: number | null, tailBytes = 0): Promise<LogView | null> {
    return readView(this.ctx, jobId, attempt, tailBytes);
  }

  read(view: LogView, tailBytes = 0): Promise<Buffer> {
    return readBytes(this.files, view, tailBytes);
  }

  /** Bytes [from, from + length) of the file part of a log (a live viewer behind Redis's window). */
  readRange(view: LogView, from: number, length: number): Promise<Buffer> {
    return this.files.readRange(view.jobId, view.attempt, view, from, length);
  }

  stream(view: LogView): Readable {
    return streamBytes(this.files, view);
  }

  private background(work: Promise<unknown>): void {
    work.catch((err: Error) =>
      this.ctx.recordError({
        message: `job logs: ${err.message}`,
        time: Date.now(),
        ...(err.stack ? { stack: err.stack } : {}),
      }),
    );
  }
}

function prefixFolder(prefix: string): string {
  return prefix.replace(/[^A-Za-z0-9_.-]/g, "_").replace(/^\.+/, "_") || "_";
}
