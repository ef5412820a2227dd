// Turning an assigned job into the `assign` message each of its clients gets.

import type { AssignMessage } from "../../shared/protocol.js";
import type { JobRecord } from "../store/jobs.js";

export interface AssignedClient {
  hostname: string;
  clientId: number;
  master: boolean;
  /** The GPU indices booked on this client (moveToAssigned.lua); absent = none. */
  gpus?: number[];
}

export function hashFromFlat(flat: readonly string[]): JobRecord {
  const out: JobRecord = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i] as string] = flat[i + 1] as string;
  return out;
}

export function assignedClients(job: JobRecord): AssignedClient[] {
  if (!job.clients) return [];
  try {
    const value: unknown = JSON.parse(job.clients);
    return Array.isArray(value) ? (value as AssignedClient[]) : [];
  } catch {
    return [];
  }
}

/** The GPU indices a job's run (its `clients` field) holds on one client. */
export function bookedGpus(clientsJson: string | null, clientId: number): number[] {
  if (!clientsJson) return [];
  const me = assignedClients({ clients: clientsJson }).find((c) => c.clientId === clientId);
  return Array.isArray(me?.gpus) ? me.gpus.filter((i) => Number.isInteger(i)) : [];
}

function environment(json: string | undefined): Record<string, string> {
  if (!json) return {};
  try {
    const value: unknown = JSON.parse(json);
    if (!value || typeof value !== "object" || Array.isArray(value)) return {};
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, String(v)]));
  } catch {
    return {};
  }
}

/** The command for a client's platform: the per-OS entry when the spec gave a dict. */
function commandFor(job: JobRecord, platform: string): string | null {
  // A parent whose child failed runs only its onChildError hook (coordinator/store/jobs.ts, `childError`).
  if (job.childError === "1") return job.onChildError ?? "";
  if (job.commandByOs) {
    try {
      const byOs = JSON.parse(job.commandByOs) as Record<string, unknown>;
      const entry = byOs[platform];
      return typeof entry === "string" ? entry : null;
    } catch {
      return null;
    }
  }
  return job.command ?? "";
}

/**
 * The `assign` message for one client of a job. `farmStallTimeout` (openhq.stallTimeout, seconds, 0 = off)
 * applies when the job (and its ancestors, at submit) gave no stallTimeout; only the master host is watched.
 */
export function assignMessage(
  job: JobRecord,
  clientId: number,
  platform: string,
  farmStallTimeout: number,
): AssignMessage | null {
  const clients = assignedClients(job);
  const me = clients.find((c) => c.clientId === clientId);
  if (!me) return null;
  const jobId = Number(job.id);
  let command = commandFor(job, platform);
  let shell = job.shell ?? null;
  if (command === null) {
    // Dispatch avoids this (it only proposes clients whose platform has an entry); if the spec changed
    // under us, fail the job visibly rather than run something else.
    command = `echo "openhq: job ${jobId} has no command for platform ${platform}" >&2; exit 1`;
    shell = "sh";
  }
  const maxTime = job.maxTime === undefined ? -1 : Number(job.maxTime);
  const stallTimeout = job.stallTimeout === undefined ? farmStallTimeout : Number(job.stallTimeout);
  return {
    type: "assign",
    jobId,
    attempt: Number(job.attempt),
    rootJobId: Number(job.root ?? job.id),
    name: job.name ?? "",
    command,
    shell,
    environment: environment(job.environment),
    hosts: clients.map((c) => c.hostname),
    master: me.master,
    cpus: Number(job.cpus ?? 1),
    ...(me.gpus && me.gpus.length > 0 ? { gpus: me.gpus } : {}),
    maxTime: Number.isFinite(maxTime) && maxTime > 0 ? maxTime : null,
    // Only the master of a multi-host job is watched: the others often work silently while it reports.
    stallTimeout: me.master && Number.isFinite(stallTimeout) && stallTimeout > 0 ? stallTimeout : null,
    onSuccess: job.childError === "1" ? null : (job.onSuccess ?? null),
    onError: job.childError === "1" ? null : (job.onError ?? null),
    onCancel: job.onCancel ?? null,
  };
}
