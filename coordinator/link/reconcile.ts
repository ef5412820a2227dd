// Reconciling what an agent says it runs with what Redis says it should run.

import type { Context } from "../context.js";
import type { RunningJob } from "../../shared/protocol.js";
import { assignedClients } from "../scheduler/assign.js";
import { bladeLost, type LossHost } from "./blade-lost.js";
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
 * cannot report anything any more, so they end now as lost (blade-lost.ts) rather than after activeTimeout.
 * Fenced by attempt: one that moved on already is left alone.
 */
export async function endLostAttempts(
  host: LossHost,
  clientId: number,
  label: string,
  lost: readonly RunningJob[],
): Promise<void> {
  const attempts = lost.slice(0, MAX_LOST).map(({ jobId, attempt }) => ({ jobId, attempt }));
  const why = "agent restarted; the attempt died with its earlier process";
  await bladeLost(host, { clientId, label }, why, attempts);
}

/** A hello's `lost` list is untrusted input: bounded. */
const MAX_LOST = 10_000;
