// The log sweep, every second on every coordinator: seals the logs of attempts that are over (the agent
// that ran them is gone, the job was retried, ejected, rescheduled...: the coordinator that applied a
// `finished` seals at once, this catches the rest), retries flushes that failed (a full disk), and removes
// the files of deleted jobs ({p}logs:trash, filled by deleteJobs.lua). Several coordinators may sweep at
// once: each entry is claimed by pushing its next check time forward first, and the writer's lock decides.

import { isFinished, statusIn, WAITING_STATUSES } from "../../shared/statuses.js";
import { jobFields } from "../store/job-fields.js";
import { closeOpenLog, dueOpenLogs, dueTrash, lookAgainAt, trashRemoved } from "../store/logs.js";
import { PeriodicTask } from "../periodic-task.js";
import type { LogContext } from "./index.js";
import type { LogWriter } from "./writer.js";

const SWEEP_MS = 1000;
/**
 * A live attempt is looked at again this much later: its own coordinator flushes whole segments as they
 * fill, the sweep writes what waited since (a slow job's last lines do not sit in Redis for hours).
 */
const LIVE_RECHECK_MS = 30_000;
/** An attempt that could not be sealed or written yet is tried again this soon. */
const RETRY_MS = 1000;
/** Files of a deleted job are removed this long after the delete, when no writer can still be busy on them. */
const TRASH_DELAY_MS = 5000;
const BATCH = 50;
/** Deleted jobs whose files one sweep removes at most (a bulk delete of 150,000 jobs drains in minutes). */
const TRASH_PER_SWEEP = 2000;

export class LogSweeper {
  private readonly task: PeriodicTask;

  constructor(
    private readonly ctx: LogContext,
    private readonly writer: LogWriter,
  ) {
    this.task = new PeriodicTask(
      () => this.sweep(),
      (err) => ctx.recordError({ message: `job logs sweep: ${err.message}`, time: Date.now() }),
      SWEEP_MS,
    );
  }

  start(): void {
    this.task.start();
  }

  async stop(): Promise<void> {
    await this.task.stop();
  }

  async sweep(now = Date.now()): Promise<void> {
    await this.sweepOpen(now);
    await this.sweepTrash(now);
    this.writer.prune(10 * 60_000);
  }

  private async sweepOpen(now: number): Promise<void> {
    const { ctx } = this;
    for (const member of await dueOpenLogs(ctx, now, BATCH)) {
      // Claim it: another coordinator's sweep now skips it until then.
      await lookAgainAt(ctx, member, now + LIVE_RECHECK_MS);
      const [jobId, attempt] = member.split(":").map(Number) as [number, number];
      const [status, current] = await jobFields(ctx, jobId, ["status", "attempt"]);
      const live =
        status !== null &&
        Number(current) === attempt &&
        !isFinished(status) &&
        !statusIn(WAITING_STATUSES, status);
      const result = live
        ? await this.writer.flush(jobId, attempt, true)
        : await this.writer.seal(jobId, attempt);
      if (result === "gone") await closeOpenLog(ctx, member);
      // A live attempt another writer holds is being written: the claim's 30 s stand.
      else if (result === "failed" || (!live && result !== "ok"))
        await lookAgainAt(ctx, member, now + RETRY_MS);
    }
  }

  private async sweepTrash(now: number): Promise<void> {
    for (let done = 0; done < TRASH_PER_SWEEP;) {
      const ids = await dueTrash(this.ctx, now - TRASH_DELAY_MS, 200);
      if (ids.length === 0) return;
      let freed = 0;
      for (const id of ids) freed += await this.writer.files.remove(Number(id));
      await trashRemoved(this.ctx, ids, freed);
      done += ids.length;
    }
  }
}
