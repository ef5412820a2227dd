// Cuts a job's output stream into chunks: one is flushed when 64 KB have gathered or 100 ms after its first
// byte, whichever comes first. A chunk never ends inside a UTF-8 character, so text chunks can travel as JSON
// strings; bytes that are not UTF-8 travel as base64 (see OutputMessage).

import { isUtf8 } from "node:buffer";

export const CHUNK_BYTES = 64 * 1024;
export const CHUNK_MS = 100;

export interface Chunk {
  data: string;
  encoding?: "base64";
  bytes: number;
}

export class Chunker {
  private parts: Buffer[] = [];
  private size = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly emit: (chunk: Chunk) => void,
    private readonly maxBytes = CHUNK_BYTES,
    private readonly maxMs = CHUNK_MS,
  ) {}

  write(data: Buffer): void {
    this.parts.push(data);
    this.size += data.length;
    while (this.size >= this.maxBytes) this.cut(this.maxBytes, false);
    if (this.size > 0 && this.timer === null) this.timer = setTimeout(() => this.flush(), this.maxMs);
  }

  /** Sends whatever is gathered (at the end of output, `final` also sends a trailing partial character). */
  flush(final = false): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.size > 0) this.cut(this.size, final);
    if (this.size > 0 && !final) this.timer = setTimeout(() => this.flush(), this.maxMs);
  }

  private cut(bytes: number, final: boolean): void {
    const all = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.size);
    let end = final ? bytes : utf8Boundary(all, bytes);
    // Not UTF-8 at all (binary): cut where asked, it goes as base64 anyway.
    if (end === 0) end = bytes;
    const head = all.subarray(0, end);
    const rest = all.subarray(end);
    this.parts = rest.length > 0 ? [rest] : [];
    this.size = rest.length;
    if (isUtf8(head)) this.emit({ data: head.toString("utf8"), bytes: head.length });
    else this.emit({ data: head.toString("base64"), encoding: "base64", bytes: head.length });
  }
}

/** The largest cut <= `end` that does not split a UTF-8 sequence. */
function utf8Boundary(buffer: Buffer, end: number): number {
  if (end >= buffer.length) {
    // Cutting at the very end: only back off if the tail is an unfinished sequence.
    end = buffer.length;
  }
  for (let back = 1; back <= 4 && end - back >= 0; back++) {
    const byte = buffer[end - back] as number;
    if ((byte & 0xc0) === 0x80) continue; // continuation byte: look further back for the lead
    const need = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return need > back ? end - back : end;
  }
  return end;
}
