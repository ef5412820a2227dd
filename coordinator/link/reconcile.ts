// Reconciling what an agent says it runs with what Redis says it should run.

import type { Context } from "../context.js";
import type { RunningJob } from "../../shared/protocol.js";
import { assignedClients } from "../scheduler/assign.js";
import type { LinkHost } from "./connection.js";
import { ALIVE_STATUSES, statusIn } from "../../shared/statuses.js";
import { readJobFields } from "../store/job-fields.js";

/**
 * The attempts of `hello.running` the farm no longer wants on this client: the job was given to another
 * client meanwhile, finished, was cancelled, or moved on to a later attempt. The agent kills those.
 */
export async function staleAttempts(
  ctx: Context,
  clientId: number,
  running: readonly RunningJob[],
): Promise<{ jobId: number; attempt: number }[]> {
  if (running.length === 0) return [];
  const replies = await readJobFields(
    ctx,
    running.map((r) => r.jobId),
    ["status", "attempt", "clients"],
  );
  const stop: { jobId: number; attempt: number }[] = [];
  running.forEach((r, i) => {
    const [status, attempt, clients] = replies[i] ?? [];
    const mine =
      status != null &&
      statusIn(ALIVE_STATUSES, status) &&
      Number(attempt) === r.attempt &&
      assignedClients({ clients: clients ?? "" }).some((c) => c.clientId === clientId);
    if (!mine) stop.push({ jobId: r.jobId, attempt: r.attempt });
  });
  return stop;
}

/**
 * The attempts a restarted agent found left over from its earlier process and killed (`hello.lost`): they
 * cannot report anything any more, so they end now (retried while triesLeft > 0) rather than after
 * activeTimeout. Fenced by attempt: one that moved on already is left alone.
 */
export async function endLostAttempts(
  host: Pick<LinkHost, "store" | "log" | "jobLeft">,
  clientId: number,
  label: string,
  lost: readonly RunningJob[],
): Promise<void> {
  for (const { jobId, attempt } of lost.slice(0, MAX_LOST)) {
    const reason = `${label} restarted; the attempt died with its earlier agent process`;
    const result = await host.store.moveToAbandoned(jobId, attempt, reason).catch(() => "stale");
    if (result !== "ok") continue;
    host.log(`job ${jobId} attempt ${attempt}: ${reason}`);
    host.jobLeft(clientId, jobId);
  }
}

/** A hello's `lost` list is untrusted input: bounded. */
const MAX_LOST = 10_000;
