// Reading a job's log: where its bytes are (readLog.lua: the committed part of its file and the chunks still
// in Redis, in one step so they agree), then the whole of it, its tail, or a stream for a download. The
// committed part of a file never changes, so reading it after the Redis step is safe while a writer appends.

import { PassThrough, type Readable } from "node:stream";
import type { Redis } from "ioredis";
import type { Keys } from "../store/keys.js";
import { runScript } from "../store/lua-scripts.js";
import type { Committed, LogFiles } from "./files.js";

export interface LogView extends Committed {
  jobId: number;
  attempt: number;
  /** live: keys in Redis; sealed: all in the file store; legacy: output kept in Redis by an older openhq. */
  kind: "live" | "sealed" | "legacy" | "none";
  /** Bytes of the log so far. */
  bytes: number;
  /** Bytes dropped by a cap (-1: none). */
  cut: number;
  /** sha256 of a sealed log ("" otherwise). */
  sha256: string;
  /** The chunks read from Redis: bytes [from, bytes). */
  from: number;
  chunks: Buffer[];
}

/** Where attempt `attempt` (null = the latest) of a job's log is; with `tailBytes` > 0 only the newest chunks. */
export async function readView(
  redis: Redis,
  keys: Keys,
  jobId: number,
  attempt: number | null,
  tailBytes = 0,
): Promise<LogView | null> {
  const args = [jobId, attempt ?? "", tailBytes];
  const reply = (await runScript(redis, keys.prefix, "readLog", args, "buffers")) as
    (Buffer | number)[] | null;
  if (!Array.isArray(reply)) return null;
  const text = (i: number): string => String(reply[i] ?? "");
  const num = (i: number): number => Number(text(i));
  return {
    jobId,
    attempt: num(0),
    kind: text(1) as LogView["kind"],
    bytes: num(2),
    base: num(3),
    z: num(4),
    n: num(5),
    cut: num(6),
    sha256: text(7),
    from: num(8),
    chunks: reply.slice(9) as Buffer[],
  };
}

/** The log's bytes: all of them, or (tailBytes > 0) at least its newest tailBytes. */
export async function readBytes(files: LogFiles | null, view: LogView, tailBytes = 0): Promise<Buffer> {
  const start = tailBytes > 0 ? Math.max(0, view.bytes - tailBytes) : 0;
  const parts: Buffer[] = [];
  if (start < view.from) {
    if (files === null) throw new Error(`job ${view.jobId}: its log is in the file store, which is not open`);
    parts.push(await files.readRange(view.jobId, view.attempt, view, start, view.from - start));
  }
  parts.push(...view.chunks);
  return Buffer.concat(parts);
}

/** The whole log as a stream (a download): the file part, then the chunks that were in Redis. */
export function streamBytes(files: LogFiles, view: LogView): Readable {
  const out = new PassThrough();
  const source = files.stream(view.jobId, view.attempt, view);
  source.on("error", (err) => out.destroy(err));
  source.on("end", () => {
    for (const chunk of view.chunks) out.write(chunk);
    out.end();
  });
  source.pipe(out, { end: false });
  return out;
}
