// Reading a job's log once store/logs.ts readView found where its bytes are (the committed part of its file
// and the chunks still in Redis): the whole of it, its tail, or a stream for a download. The committed part
// of a file never changes, so reading it after the Redis step is safe while a writer appends.

import { PassThrough, type Readable } from "node:stream";
import type { LogView } from "../store/logs.js";
import type { LogFiles } from "./files.js";

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
