// Reasons at submit: a new job that no registered client could ever run (conditions, cpus, platform, GPUs) gets
// its waitingFor and showBlockedClientsWarning in the same write that creates it, instead of at the next
// waiting sweep (waiting.ts and class-reasons.ts keep them true afterwards as clients and groups change).
// savePermittedClientsList gets the same for the one job whose conditions it changes (rejudge). Both judge
// against the registered clients of the scheduler's last round (registered.ts), not a read of every client.

import type { NewJob } from "../api/jobspec.js";
import type { Context } from "../context.js";
import { Scripts } from "../store/dispatch-scripts.js";
import { readJobFields } from "../store/job-fields.js";
import { parseJobInfo, readJobInfos } from "./job-info.js";
import type { RegisteredClients } from "./registered.js";
import { blockedReason, reasonFor, REASON_FIELDS } from "./waiting.js";

export class SubmitReasons {
  private readonly scripts: Scripts;

  /**
   * `registered`: the process's registered clients as its scheduler keeps them (registered.ts), so a
   * newjob reads no client record, however many blades are idle.
   */
  constructor(
    private readonly ctx: Context,
    private readonly registered: RegisteredClients,
  ) {
    this.scripts = new Scripts(ctx);
  }

  /** Marks the jobs of one newjob call that no registered client could run (their `f` fields). */
  async mark(jobs: NewJob[]): Promise<void> {
    const clients = await this.registered.current();
    // A farm whose agents have not registered yet: every job would be marked only to be cleared again when
    // they come. The class sweep (class-reasons.ts) gives them their reasons once some client registers.
    if (clients.length === 0) return;
    const verdicts = new Map<string, string | null>();
    jobs.forEach((job, i) => {
      const f = job.fields;
      const conditions = f.conditions ?? (job.inheritConditions ? rootConditions(jobs, i) : undefined);
      const gpus = inherited(jobs, i, "gpus", "inheritGpus");
      const gpuMemory = inherited(jobs, i, "gpuMemory", "inheritGpuMemory");
      const key = `${f.cpus}\n${conditions ?? ""}\n${f.commandByOs ? Object.keys(JSON.parse(f.commandByOs) as object).join() : "*"}\n${gpus} ${gpuMemory}`;
      let blocked = verdicts.get(key);
      if (blocked === undefined) {
        const info = parseJobInfo(0, [
          f.cpus ?? "1",
          null,
          conditions ?? null,
          "1",
          "1",
          null,
          f.commandByOs ?? null,
          null,
          gpus,
          gpuMemory,
        ]);
        blocked = blockedReason(info, clients);
        verdicts.set(key, blocked);
      }
      if (blocked !== null) {
        f.waitingFor = blocked;
        f.showBlockedClientsWarning = "1";
      }
    });
  }

  /**
   * A job whose conditions changed (savePermittedClientsList) moved to another class, maybe one the class
   * sweep judged before and will not walk again: its reason now (setWaiting writes only while it is queued).
   */
  async rejudge(jobId: number): Promise<void> {
    const clients = await this.registered.current();
    if (clients.length === 0) return;
    const [[info], [current]] = await Promise.all([
      readJobInfos(this.ctx, [jobId]),
      readJobFields(this.ctx, [jobId], REASON_FIELDS),
    ]);
    if (!info) return;
    const blocked = blockedReason(info, clients);
    const text = reasonFor(blocked, current ?? null);
    if (text !== null) await this.scripts.run("setWaiting", jobId, text, blocked !== null ? 1 : 0);
  }
}

/** The conditions a job without its own inherits: its root's among the new jobs (else none known here). */
function rootConditions(jobs: NewJob[], index: number): string | undefined {
  let at = jobs[index];
  for (let hops = 0; at && at.newParents.length > 0 && hops < jobs.length; hops++)
    at = jobs[at.newParents[0] as number];
  return at && at.existingParents.length === 0 ? at.fields.conditions : undefined;
}

/**
 * A field a job inherits from its first parent when its spec gave none (gpus, gpuMemory; addJobs.lua does the
 * same), as far as the new jobs tell; from an existing parent it is not known here ("0": the class sweep
 * judges the job again).
 */
function inherited(
  jobs: NewJob[],
  index: number,
  field: "gpus" | "gpuMemory",
  flag: "inheritGpus" | "inheritGpuMemory",
): string {
  let at = jobs[index];
  for (let hops = 0; at && at[flag] && at.newParents.length > 0 && hops < jobs.length; hops++)
    at = jobs[at.newParents[0] as number];
  return (at && !at[flag] ? at.fields[field] : undefined) ?? "0";
}
