// The file store of job logs under job_logs_dir: <dir>/<farm>/<id / 1000>/<id>/<attempt>.gz and .idx.
//
// A log file is a run of independent gzip members (each about one segment of output), so it is itself a
// valid .gz; the .idx beside it has one 16-byte record per member: the raw and the compressed offsets where
// the member ends (two big-endian u64). A tail or a range is read by finding its members in the index and
// inflating only those. Files only grow by appending a member at the committed end: Redis holds how much
// of each file is committed (z bytes, n records; commitLog.lua), and a writer first truncates whatever a
// writer that died before committing left beyond that, so a crash can never duplicate or tear a member.

import { createHash } from "node:crypto";
import { constants, createReadStream } from "node:fs";
import { mkdir, open, rm, readdir, stat, type FileHandle } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { createGunzip, gunzip as gunzipCb, gzip as gzipCb } from "node:zlib";
import type { Committed } from "../store/logs.js";

const gzip = promisify(gzipCb);
const gunzip = promisify(gunzipCb);

const RECORD_BYTES = 16;
/** Level 1: logs are repetitive, so it still packs them 3-10x, at several times the speed of the default. */
const GZIP_LEVEL = 1;

/** Where the committed part of one attempt's file ends (from Redis). */

interface Member {
  rawStart: number;
  rawEnd: number;
  zStart: number;
  zEnd: number;
}

export class LogFiles {
  /** `root` is <job_logs_dir>/<farm>. */
  constructor(readonly root: string) {}

  jobDir(jobId: number): string {
    return join(this.root, String(Math.floor(jobId / 1000)), String(jobId));
  }

  path(jobId: number, attempt: number, ext: "gz" | "idx"): string {
    return join(this.jobDir(jobId), `${attempt}.${ext}`);
  }

  /** Compresses `data` as one gzip member (off the main thread). */
  compress(data: Buffer): Promise<Buffer> {
    return gzip(data, { level: GZIP_LEVEL, memLevel: 9 });
  }

  /**
   * Appends compressed members (with the raw length of each) at the committed end of the attempt's file,
   * and their index records, both fsynced before this resolves (the caller commits to Redis only then).
   * Throws on I/O errors (ENOSPC...).
   */
  async append(
    jobId: number,
    attempt: number,
    at: Committed,
    members: { raw: number; packed: Buffer }[],
  ): Promise<void> {
    const gzPath = this.path(jobId, attempt, "gz");
    const fresh = at.z === 0 && at.n === 0;
    if (fresh) await mkdirDurable(dirname(gzPath));
    const records = Buffer.alloc(RECORD_BYTES * members.length);
    let raw = at.base;
    let z = at.z;
    members.forEach((m, i) => {
      raw += m.raw;
      z += m.packed.length;
      records.writeBigUInt64BE(BigInt(raw), i * RECORD_BYTES);
      records.writeBigUInt64BE(BigInt(z), i * RECORD_BYTES + 8);
    });
    await writeAt(gzPath, at.z, Buffer.concat(members.map((m) => m.packed)));
    await writeAt(this.path(jobId, attempt, "idx"), at.n * RECORD_BYTES, records);
    if (fresh) await fsyncDir(dirname(gzPath));
  }

  /** The members of the committed part, in order. */
  private async members(jobId: number, attempt: number, at: Committed): Promise<Member[]> {
    if (at.n === 0) return [];
    const raw = await readExactly(this.path(jobId, attempt, "idx"), 0, at.n * RECORD_BYTES);
    const out: Member[] = [];
    let rawStart = 0;
    let zStart = 0;
    for (let i = 0; i < at.n; i++) {
      const rawEnd = Number(raw.readBigUInt64BE(i * RECORD_BYTES));
      const zEnd = Number(raw.readBigUInt64BE(i * RECORD_BYTES + 8));
      out.push({ rawStart, rawEnd, zStart, zEnd });
      rawStart = rawEnd;
      zStart = zEnd;
    }
    return out;
  }

  /** Bytes [from, from + length) of the committed part (fewer at its end). */
  async readRange(
    jobId: number,
    attempt: number,
    at: Committed,
    from: number,
    length: number,
  ): Promise<Buffer> {
    const end = Math.min(at.base, from + length);
    if (from >= end) return Buffer.alloc(0);
    const members = await this.members(jobId, attempt, at);
    // The first member ending after `from`, and the first one ending at or after `end`.
    const first = lowerBound(members, (m) => m.rawEnd > from);
    const last = lowerBound(members, (m) => m.rawEnd >= end);
    const a = members[first];
    const b = members[Math.min(last, members.length - 1)];
    if (!a || !b) throw new Error(`job log ${jobId}.${attempt}: index does not cover byte ${from}`);
    const packed = await readExactly(this.path(jobId, attempt, "gz"), a.zStart, b.zEnd - a.zStart);
    const plain = await gunzip(packed);
    return plain.subarray(from - a.rawStart, end - a.rawStart);
  }

  /** The newest `length` bytes of the committed part. */
  readTail(jobId: number, attempt: number, at: Committed, length: number): Promise<Buffer> {
    const from = Math.max(0, at.base - length);
    return this.readRange(jobId, attempt, at, from, at.base - from);
  }

  /** The committed part as a stream of raw bytes. */
  stream(jobId: number, attempt: number, at: Committed): Readable {
    if (at.z === 0) return createGunzip().end();
    // .pipe() does not pass a read error on: without this, a missing file would be an unhandled 'error'.
    const raw = createReadStream(this.path(jobId, attempt, "gz"), { end: at.z - 1 });
    const gunzip = createGunzip();
    raw.on("error", (err) => gunzip.destroy(err));
    return raw.pipe(gunzip);
  }

  /** sha256 (hex) of the committed part, read back from the file. */
  async sha256(jobId: number, attempt: number, at: Committed): Promise<string> {
    const hash = createHash("sha256");
    if (at.z > 0) {
      await pipeline(this.stream(jobId, attempt, at), async (source: AsyncIterable<Buffer>) => {
        for await (const chunk of source) hash.update(chunk);
      });
    }
    return hash.digest("hex");
  }

  /** Removes a job's files; resolves with the bytes they held. */
  async remove(jobId: number): Promise<number> {
    const dir = this.jobDir(jobId);
    let bytes = 0;
    try {
      for (const name of await readdir(dir)) bytes += (await stat(join(dir, name))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return 0;
      throw err;
    }
    await rm(dir, { recursive: true, force: true });
    return bytes;
  }
}

/** Writes `data` at `position`, cutting the file there first (what lies beyond was never committed). */
async function writeAt(path: string, position: number, data: Buffer): Promise<void> {
  const file = await open(path, constants.O_RDWR | constants.O_CREAT, 0o644);
  try {
    await file.truncate(position);
    await writeAll(file, data, position);
    await file.sync();
  } finally {
    await file.close();
  }
}

async function writeAll(file: FileHandle, data: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await file.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

async function readExactly(path: string, position: number, length: number): Promise<Buffer> {
  const file = await open(path, "r");
  try {
    const out = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await file.read(out, done, length - done, position + done);
      if (bytesRead === 0)
        throw new Error(`${path}: ends before byte ${position + length} (log files damaged)`);
      done += bytesRead;
    }
    return out;
  } finally {
    await file.close();
  }
}

/** mkdir -p, then fsyncs each directory it made so the new entries survive a crash. */
async function mkdirDurable(dir: string): Promise<void> {
  const made = await mkdir(dir, { recursive: true });
  if (made === undefined) return;
  for (let d = dir; d.length >= made.length; d = dirname(d)) await fsyncDir(dirname(d));
}

export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function lowerBound<T>(items: T[], pass: (item: T) => boolean): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (pass(items[mid] as T)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
