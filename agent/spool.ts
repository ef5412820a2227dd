// The outbox of one job attempt: numbers its events (seq from 1), keeps each until the coordinator acks it,
// and resends after a reconnect. Every event is also appended to a journal file under the state folder
// (`<jobId>-<attempt>.spool`, one `seq<TAB>json` line each) before it is sent, and the file is removed
// whenever everything is acked: so an agent process that dies (SIGKILL, OOM) leaves exactly its unacked
// events behind, and the next agent process replays them (Agent.recoverLeftovers). No fsync: the page cache outlives
// the process; a machine crash loses the tail, like the job's own output would.
//
// While the link is down, events beyond `memoryBytes` are dropped from memory (the journal has them) and
// resent from the file; beyond `diskBytes` (or `memoryBytes` unacked while the link is up, or when the disk
// refuses the journal) the spool reports itself full, and the job stops reading its output until acks catch
// up, so nothing is ever dropped.
//
// Order invariant: events only on disk are older than every event in memory, so a resend is "the file up to
// diskOnlyLastSeq, then memory", and new events wait in memory until a resend has caught up.

import {
  closeSync,
  createReadStream,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
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

/** The journal is rewritten with only the unacked events once it is this much larger than they are. */
const COMPACT_MIN_BYTES = 1024 * 1024;

interface Entry {
  seq: number;
  text: string;
}

export class Spool {
  private nextSeq = 1;
  private acked = 0;
  private memory: Entry[] = [];
  private memoryBytes = 0;
  private readonly file: string;
  /** The open journal, or null until the next event (removed whenever everything was acked). */
  private fd: number | null = null;
  private journalBytes = 0;
  /** The disk refused the journal (full, read-only): events stay in memory only, bounded by memoryBytes. */
  private journalFailed = false;
  /** Unacked events only in the journal (older than memory), and the newest of them. */
  private diskOnlyBytes = 0;
  private diskOnlyLastSeq = 0;
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
    this.file = join(dir, spoolFileName(jobId, attempt));
  }

  /** Numbers and keeps an event, and sends it now when the link is up. Returns its seq. */
  push(event: JobEvent): number {
    const seq = this.nextSeq++;
    if (this.discarded) return seq;
    const text = JSON.stringify({ ...event, seq });
    this.journal(`${seq}\t${text}\n`);
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
    if (this.acked >= this.diskOnlyLastSeq) {
      this.diskOnlyBytes = 0;
      this.diskOnlyLastSeq = 0;
    }
    if (this.settled()) this.removeFile();
    else if (
      !this.journalFailed &&
      this.diskOnlyBytes === 0 &&
      this.journalBytes > COMPACT_MIN_BYTES + 2 * this.memoryBytes
    )
      this.compact();
    if (!this.full()) for (const wake of this.roomWaiters.splice(0)) wake();
  }

  /** Every event pushed so far has been acked. */
  settled(): boolean {
    return this.acked === this.nextSeq - 1;
  }

  /** The highest seq pushed (or recovered) so far. */
  lastSeq(): number {
    return this.nextSeq - 1;
  }

  /** Too much is unacked: the producer should wait for `room()`. */
  full(): boolean {
    if (this.outlet.isOpen() || this.journalFailed) return this.memoryBytes > this.limits.memoryBytes;
    return this.memoryBytes + this.diskOnlyBytes > this.limits.diskBytes;
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
      if (this.diskOnlyBytes > 0) {
        const upTo = this.diskOnlyLastSeq;
        const lines = createInterface({ input: createReadStream(this.file, "utf8"), crlfDelay: Infinity });
        for await (const line of lines) {
          if (generation !== this.generation || !this.outlet.isOpen()) {
            lines.close();
            return;
          }
          const tab = line.indexOf("\t");
          const seq = Number(line.slice(0, tab));
          if (seq > upTo) break;
          if (seq > this.acked) await this.outlet.send(line.slice(tab + 1));
        }
        lines.close();
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
    this.diskOnlyBytes = 0;
    this.diskOnlyLastSeq = 0;
    this.removeFile();
    for (const wake of this.roomWaiters.splice(0)) wake();
  }

  /**
   * Takes over a journal an earlier agent process left (see Agent.recoverLeftovers): its events count as pushed and
   * unacked, to be sent by the next resend().
   */
  adopt(lastSeq: number, bytes: number): void {
    this.nextSeq = lastSeq + 1;
    this.diskOnlyLastSeq = lastSeq;
    this.diskOnlyBytes = Math.max(1, bytes);
    this.journalBytes = bytes;
    this.fd = openSync(this.file, "a");
  }

  /** Appends one line to the journal; on a disk error the journal is given up (the events stay in memory). */
  private journal(line: string): void {
    if (this.journalFailed) return;
    try {
      if (this.fd === null) {
        mkdirSync(this.dir, { recursive: true });
        this.fd = openSync(this.file, "a");
      }
      this.journalBytes += writeSync(this.fd, line);
    } catch {
      // ENOSPC, EDQUOT, EROFS…: what is only on disk already cannot be dropped from memory any more, so
      // from now on memory holds everything unacked and full() bounds it.
      // Events already dropped from memory stay readable in the file for resend.
      this.journalFailed = true;
      this.closeFile();
      if (this.diskOnlyBytes === 0) rmSync(this.file, { force: true });
    }
  }

  /** The link is down and memory is over its limit: memory is in the journal, so it can go. */
  private spill(): void {
    if (this.journalFailed || this.fd === null || this.memory.length === 0) return;
    this.diskOnlyBytes += this.memoryBytes;
    this.diskOnlyLastSeq = (this.memory[this.memory.length - 1] as Entry).seq;
    this.memory = [];
    this.memoryBytes = 0;
  }

  /** Rewrites the journal with the unacked events only (all in memory), so a chatty job's file stays small. */
  private compact(): void {
    const tmp = `${this.file}.tmp`;
    try {
      const text = this.memory.map((e) => `${e.seq}\t${e.text}\n`).join("");
      const fd = openSync(tmp, "w");
      try {
        writeSync(fd, text);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.file);
      this.closeFile();
      this.fd = openSync(this.file, "a");
      this.journalBytes = Buffer.byteLength(text);
    } catch {
      rmSync(tmp, { force: true }); // the old journal still holds everything: try again on a later ack
    }
  }

  private closeFile(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private removeFile(): void {
    this.closeFile();
    if (this.journalBytes > 0 || this.diskOnlyBytes > 0) rmSync(this.file, { force: true });
    this.journalBytes = 0;
  }
}

export function spoolFileName(jobId: number, attempt: number): string {
  return `${jobId}-${attempt}.spool`;
}

/** What an earlier agent process left in one journal. */
export interface LeftSpool {
  jobId: number;
  attempt: number;
  /** The newest seq in the file (a torn last line is cut off). */
  lastSeq: number;
  bytes: number;
  /** The attempt's `finished` event is in the file: it ended, only the coordinator does not know yet. */
  finished: boolean;
}

/**
 * The journals in `dir` left by an earlier agent process. Torn or unreadable files are removed; a torn last
 * line (the process died mid-write) is cut off.
 */
export async function leftSpools(dir: string): Promise<LeftSpool[]> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: LeftSpool[] = [];
  for (const name of names) {
    const match = /^(\d+)-(\d+)\.spool$/.exec(name);
    const path = join(dir, name);
    if (match === null) {
      rmSync(path, { force: true, recursive: true });
      continue;
    }
    let lastSeq = 0;
    let finished = false;
    let good = 0;
    try {
      const lines = createInterface({ input: createReadStream(path, "utf8"), crlfDelay: Infinity });
      for await (const line of lines) {
        const tab = line.indexOf("\t");
        let event: { type?: string; seq?: number };
        try {
          event = JSON.parse(line.slice(tab + 1)) as { type?: string; seq?: number };
        } catch {
          break; // a torn last line
        }
        if (Number(line.slice(0, tab)) !== event.seq) break;
        lastSeq = event.seq;
        finished = event.type === "finished";
        good += Buffer.byteLength(line) + 1;
      }
    } catch {
      lastSeq = 0; // unreadable: nothing trustworthy in it
    }
    if (lastSeq === 0) {
      rmSync(path, { force: true });
      continue;
    }
    truncateTo(path, good);
    out.push({ jobId: Number(match[1]), attempt: Number(match[2]), lastSeq, bytes: good, finished });
  }
  return out;
}

function truncateTo(path: string, bytes: number): void {
  const fd = openSync(path, "r+");
  try {
    // ftruncate: a torn tail must not sit between old lines and the ones the next process appends.
    ftruncateSync(fd, bytes);
  } finally {
    closeSync(fd);
  }
}
