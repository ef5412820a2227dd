// Job statuses and event names exactly as HQueue clients know them (docs/COMPAT.md §5). Clients hard-code the
// finished set and test membership in the lists the meta calls return, so these lists are part of the API.

export const JOB_STATUSES = [
  "queued",
  "runnable",
  "running",
  "pausing",
  "paused",
  "resuming",
  "succeeded",
  "failed",
  "cancelled",
  "abandoned",
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const FINISHED_STATUSES: readonly JobStatus[] = ["succeeded", "failed", "cancelled", "abandoned"];
export const FAILED_STATUSES: readonly JobStatus[] = ["failed", "abandoned"];
export const SUCCEEDED_STATUSES: readonly JobStatus[] = ["succeeded"];
export const RUNNING_STATUSES: readonly JobStatus[] = ["running", "pausing", "resuming"];
export const PAUSED_STATUSES: readonly JobStatus[] = ["paused", "pausing"];
/** A job in one of these holds a client: it was handed out and has not ended or been released. */
export const ALIVE_STATUSES: readonly JobStatus[] = ["running", "pausing", "paused", "resuming"];
/** `waiting` is what getJobIdsByStatus accepts for these two. */
export const WAITING_STATUSES: readonly JobStatus[] = ["queued", "runnable"];
export const UNFINISHED_STATUSES: readonly JobStatus[] = JOB_STATUSES.filter(
  (s) => !FINISHED_STATUSES.includes(s),
);

/** Event names the meta calls return; they also appear as `logs` entries. */
export const STARTED_EVENTS = ["started", "running"] as const;
export const RESCHEDULED_EVENTS = ["rescheduled"] as const;
export const RESUMED_EVENTS = ["resumed"] as const;
export const PRIORITY_CHANGED_EVENTS = ["priorityChanged"] as const;

export function isJobStatus(value: string): value is JobStatus {
  return (JOB_STATUSES as readonly string[]).includes(value);
}

/** Whether `status` (as read from Redis: any string, or missing) is one of `statuses`. */
export function statusIn(statuses: readonly JobStatus[], status: string | undefined): boolean {
  return status !== undefined && (statuses as readonly string[]).includes(status);
}

export function isFinished(status: string | undefined): boolean {
  return statusIn(FINISHED_STATUSES, status);
}
