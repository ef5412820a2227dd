// The audit log's long keeping: one JSON-lines file per UTC day beside the job logs,
// <job_logs_dir>/<farm>/audit/<YYYY-MM-DD>-<host>.jsonl. Each coordinator writes its own file (appends of
// several machines to one file on a network share may interleave); the Redis stream is the merged view.
// Lines are buffered and appended about once a second, one write per file, so a call never waits on the
// disk; while the disk does not keep up, at most MAX_PENDING_BYTES wait and the rest is dropped and counted.

import { appendFile, mkdir } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";

const FLUSH_MS = 1000;
const MAX_PENDING_BYTES = 8 * 1024 * 1024;

export class AuditDayFiles {
  /** day → lines waiting */
  private pending = new Map<string, string[]>();
  private pendingBytes = 0;
  private dropped = 0;
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();
  private readonly host = hostname().replace(/[^A-Za-z0-9_.-]/g, "_") || "host";

  constructor(
    readonly dir: string,
    private readonly log: (line: string) => void,
  ) {}

  /** The file of `day` (YYYY-MM-DD) this coordinator writes. */
  path(day: string): string {
    return join(this.dir, `${day}-${this.host}.jsonl`);
  }

  /** Queues one record (its `time` names the day). */
  add(time: string, json: string): void {
    if (this.pendingBytes + json.length > MAX_PENDING_BYTES) {
      this.dropped++;
      return;
    }
    const day = time.slice(0, 10);
    let lines = this.pending.get(day);
    if (!lines) this.pending.set(day, (lines = []));
    lines.push(json);
    this.pendingBytes += json.length + 1;
    this.timer ??= setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, FLUSH_MS);
  }

  /** Writes what waits; resolves when it is on disk (or failed and was reported). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending;
    const dropped = this.dropped;
    this.pending = new Map();
    this.pendingBytes = 0;
    this.dropped = 0;
    this.writing = this.writing.then(async () => {
      if (dropped > 0)
        this.log(`audit: ${dropped} record(s) not written to ${this.dir}: the disk fell behind`);
      if (batch.size === 0) return;
      try {
        await mkdir(this.dir, { recursive: true });
        for (const [day, lines] of batch) await appendFile(this.path(day), `${lines.join("\n")}\n`);
      } catch (err) {
        const count = [...batch.values()].reduce((n, lines) => n + lines.length, 0);
        this.log(`audit: ${count} record(s) not written to ${this.dir}: ${(err as Error).message}`);
      }
    });
    return this.writing;
  }
}
