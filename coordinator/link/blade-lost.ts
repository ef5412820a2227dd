// A blade was lost: its agent process is gone (crash.ts), its link was silent past activeTimeout or
// openhq.frozenTimeout (link.ts), its restarted agent reported attempts it could not keep (reconcile.ts), or
// an administrator removed it. Every cause ends its attempts here, through the one fenced transition
// lua/moveToLost.lua: back to the queue without spending a try (the machine failed, not the frame), or
// abandoned once a job has been lost openhq.maxLostAttempts times. The job's logs say
// "blade lost: <label>, <why>".

import type { JobStore, LostResult } from "../store/jobs.js";
import { jobsOfClient } from "../store/clients.js";
import { readJobFields } from "../store/job-fields.js";
import type { Context } from "../context.js";
import { NotFound } from "../refusal.js";

export interface LostBlade {
  clientId: number;
  /** hostname, or hostname:name */
  label: string;
}

/** One attempt the blade held; a later attempt of the same job (or a job that finished) is left alone. */
export interface HeldAttempt {
  jobId: number;
  attempt: number;
}

/** What ending the lost blade's attempts needs: the store, and (on a link) a log and the dispatcher's hook. */
export interface LossHost {
  readonly ctx: Context;
  readonly store: JobStore;
  log?(line: string): void;
  /** The job no longer holds CPUs on the client (the dispatcher's count). */
  jobLeft?(clientId: number, jobId: number): void;
}

/** An attempt bladeLost ended, and how. */
export interface EndedAttempt extends HeldAttempt {
  result: Exclude<LostResult, "stale">;
}

/** The attempts a client holds now, per Redis (one SMEMBERS, one pipelined read). */
export async function attemptsHeld(ctx: Context, clientId: number): Promise<HeldAttempt[]> {
  const jobIds = await jobsOfClient(ctx, clientId);
  if (jobIds.length === 0) return [];
  const replies = await readJobFields(ctx, jobIds, ["attempt"]);
  return jobIds.map((jobId, i) => ({ jobId, attempt: Number(replies[i]?.[0]) }));
}

/**
 * Ends the blade's attempts as lost, `why` saying how it was lost ("agent process gone", "not responding",
 * "removed from the farm", …). `attempts` defaults to those it holds now. Returns the attempts it ended (not
 * the stale ones) and what became of each.
 */
export async function bladeLost(
  host: LossHost,
  blade: LostBlade,
  why: string,
  attempts?: readonly HeldAttempt[],
): Promise<EndedAttempt[]> {
  const held = attempts ?? (await attemptsHeld(host.ctx, blade.clientId));
  const ended: EndedAttempt[] = [];
  for (const { jobId, attempt } of held) {
    const result = await host.store.moveToLost(jobId, attempt, blade.label, why).catch((err: unknown) => {
      // A job deleted meanwhile has nothing left to end; any other failure is the caller's to report.
      if (err instanceof NotFound) return "stale" as const;
      throw err;
    });
    if (result === "stale") continue;
    ended.push({ jobId, attempt, result });
    host.log?.(`job ${jobId} attempt ${attempt}: blade lost: ${blade.label}, ${why}: ${result}`);
    host.jobLeft?.(blade.clientId, jobId);
  }
  return ended;
}
