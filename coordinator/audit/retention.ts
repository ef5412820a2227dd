// How long the audit log keeps a record (openhq.audit.keepDays; 0 = no age bound, only the stream's cap of
// about AUDIT_STREAM_ENTRIES records). Each coordinator, at start and every SWEEP_MS: the Redis stream loses
// its records older than that (XTRIM MINID: stream ids are times, so a sweep costs what it removes, in calls
// of TRIM_PER_CALL at most), and the day files of days wholly older than that are deleted (any coordinator's:
// they share the folder and the setting). A failed sweep is logged and tried again at the next one.

import { readdir, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { AuditRedis } from "../store/audit.js";
import { PeriodicTask } from "../periodic-task.js";

const SWEEP_MS = 3600_000;
/** Stream records one XTRIM removes at most (so that no call holds Redis long). */
const TRIM_PER_CALL = 5000;
const DAY_MS = 86_400_000;
/** A day file's name: the UTC day, then the coordinator host (day-files.ts). */
const DAY_FILE = /^(\d{4}-\d{2}-\d{2})-.+\.jsonl$/;

export class AuditRetention {
  /** Sweeps at start, then every SWEEP_MS; sweep() reports its own failures. */
  private readonly task = new PeriodicTask(
    () => this.sweep(),
    () => undefined,
    SWEEP_MS,
    0,
  );

  constructor(
    private readonly ctx: AuditRedis,
    /** The day files' folder; null when this coordinator keeps none. */
    private readonly dir: string | null,
    private readonly keepDays: number,
    private readonly log: (line: string) => void,
  ) {}

  start(): void {
    this.task.start();
  }

  async stop(): Promise<void> {
    await this.task.stop();
  }

  /** Removes what is older than keepDays before `now`; answers the stream records and files removed. */
  async sweep(now = Date.now()): Promise<{ records: number; files: number }> {
    const cutoff = now - this.keepDays * DAY_MS;
    let records = 0;
    let files = 0;
    try {
      const { redis, keys } = this.ctx;
      // Whole nodes first, a bounded number a call; then the few left in the node the cutoff falls in.
      for (let removed = -1; removed !== 0; records += removed)
        removed = await redis.xtrim(keys.audit, "MINID", "~", cutoff, "LIMIT", TRIM_PER_CALL);
      records += await redis.xtrim(keys.audit, "MINID", "=", cutoff);
      // A file of day D holds records until D+1 00:00 UTC: it goes once D is before the cutoff's day.
      const cutoffDay = new Date(cutoff).toISOString().slice(0, 10);
      for (const name of this.dir === null ? [] : await dayFiles(this.dir)) {
        const day = DAY_FILE.exec(name)?.[1];
        if (day === undefined || day >= cutoffDay) continue;
        await unlink(join(this.dir as string, name));
        files++;
      }
    } catch (err) {
      this.log(
        `audit: removing records older than ${this.keepDays} day(s) failed: ${(err as Error).message}`,
      );
    }
    return { records, files };
  }
}

async function dayFiles(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}
