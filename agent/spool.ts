// The outbox of one job attempt: numbers its events (seq from 1), keeps each until the coordinator acks it,
// and resends after a reconnect. While the link is down, events beyond `memoryBytes` move to a file under
// the state folder; beyond `diskBytes` (or `memoryBytes` unacked while the link is up) the spool reports
// itself full, and the job stops reading its output until acks catch up, so nothing is ever dropped.
//
// Order invariant: every event in the file is older than every event in memory, so a resend is "the file,
// then memory", and new events wait in memory until a resend has caught up.

import { createReadStream, mkdirSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { JobEventMessage } from "../shared/protocol.js";

export type JobEvent = JobEventMessage extends infer M
  ? M extends JobEventMessage
    ? Omit<M, "seq">
    : never
  : never;

/** Where the spool sends: the link, when it is up. */
export interface Outlet {
  isOpen(): boolean;
  /** Sends one JSON text; resolves when the socket has room for more (backpressure). */
  send(text: string): Promise<void>;
}

export interface SpoolLimits {
  memoryBytes: number;
  diskBytes: number;
}

export const DEFAULT_SPOOL_LIMITS: SpoolLimits = {
  memoryBytes: 8 * 1024 * 1024,
  diskBytes: 1024 * 1024 * 1024,
};

interface Entry {
  seq: number;
  text: string;
}

export class Spool {
  private nextSeq = 1;
  private acked = 0;
  private memory: Entry[] = [];
  private memoryBytes = 0;
  private file: string;
  private fileBytes = 0;
  private fileLastSeq = 0;
  /** True while a resend is in progress: new events wait in memory behind it. */
  private replaying = false;
  private generation = 0;
  private roomWaiters: (() => void)[] = [];
  /** After discard(): the attempt is over for the coordinator, later events go nowhere. */
  private discarded = false;

  constructor(
    readonly jobId: number,
    readonly attempt: number,
    private readonly dir: string,
    private readonly outlet: Outlet,
    private readonly limits: SpoolLimits = DEFAULT_SPOOL_LIMITS,
  ) {
    this.file = join(dir, `${jobId}-${attempt}.spool`);
  }

  /** Numbers and keeps an event, and sends it now when the link is up. Returns its seq. */
  push(event: JobEvent): number {
    const seq = this.nextSeq++;
    if (this.discarded) return seq;
    const text = JSON.stringify({ ...event, seq });
    if (!this.outlet.isOpen() && this.memoryBytes + text.length > this.limits.memoryBytes) this.spill();
    this.memory.push({ seq, text });
    this.memoryBytes += text.length;
    if (this.outlet.isOpen() && !this.replaying) void this.outlet.send(text);
    return seq;
  }

  /** The coordinator applied everything up to `seq`. */
  ack(seq: number): void {
    if (seq <= this.acked) return;
    this.acked = Math.min(seq, this.nextSeq - 1);
    let drop = 0;
    while (drop < this.memory.length && (this.memory[drop] as Entry).seq <= this.acked) {
      this.memoryBytes -= (this.memory[drop] as Entry).text.length;
      drop++;
    }
    if (drop > 0) this.memory.splice(0, drop);
    if (this.fileBytes > 0 && this.acked >= this.fileLastSeq) this.removeFile();
    if (!this.full()) for (const wake of this.roomWaiters.splice(0)) wake();
  }

  /** Every event pushed so far has been acked. */
  settled(): boolean {
    return this.acked === this.nextSeq - 1;
  }

  /** Too much is unacked: the producer should wait for `room()`. */
  full(): boolean {
    const unacked = this.memoryBytes + this.fileBytes;
    return this.outlet.isOpen()
      ? this.memoryBytes > this.limits.memoryBytes
      : unacked > this.limits.diskBytes;
  }

  /** Resolves once the spool is no longer full. */
  room(): Promise<void> {
    if (!this.full()) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** After a reconnect: sends every unacked event again, oldest first. */
  async resend(): Promise<void> {
    const generation = ++this.generation;
    this.replaying = true;
    try {
      if (this.fileBytes > 0) {
        const lines = createInterface({ input: createReadStream(this.file, "utf8"), crlfDelay: Infinity });
        for await (const line of lines) {
          if (generation !== this.generation || !this.outlet.isOpen()) {
            lines.close();
            return;
          }
          const tab = line.indexOf("\t");
          if (Number(line.slice(0, tab)) > this.acked) await this.outlet.send(line.slice(tab + 1));
        }
      }
      // Events pushed during the replay joined memory; send until memory has no unsent tail left.
      // Found by seq each time, because acks arriving meanwhile shift the array.
      let lastSent = 0;
      for (;;) {
        if (generation !== this.generation || !this.outlet.isOpen()) return;
        const after = Math.max(lastSent, this.acked);
        const entry = this.memory.find((e) => e.seq > after);
        if (entry === undefined) break;
        await this.outlet.send(entry.text);
        lastSent = entry.seq;
      }
    } finally {
      if (generation === this.generation) this.replaying = false;
    }
    if (!this.full()) for (const wake of this.roomWaiters.splice(0)) wake();
  }

  /** Forgets the spool (the attempt is over and everything was acked, or the coordinator dropped it). */
  discard(): void {
    this.discarded = true;
    this.generation++;
    this.memory = [];
    this.memoryBytes = 0;
    if (this.fileBytes > 0) this.removeFile();
    for (const wake of this.roomWaiters.splice(0)) wake();
  }

  /** Moves memory to the end of the file (memory is always newer than the file). */
  private spill(): void {
    if (this.memory.length === 0) return;
    mkdirSync(this.dir, { recursive: true });
    const text = this.memory.map((e) => `${e.seq}\t${e.text}\n`).join("");
    if (this.fileBytes === 0) writeFileSync(this.file, text);
    else appendFileSync(this.file, text);
    this.fileBytes += this.memoryBytes;
    this.fileLastSeq = (this.memory[this.memory.length - 1] as Entry).seq;
    this.memory = [];
    this.memoryBytes = 0;
  }

  private removeFile(): void {
    rmSync(this.file, { force: true });
    this.fileBytes = 0;
    this.fileLastSeq = 0;
  }
}
