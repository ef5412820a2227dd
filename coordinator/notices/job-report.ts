// What a notice says about a job, read when its transition is fanned out: the job's name, status, share and
// submitter, its dashboard link, for a parent the counts of its frames and the failed ones with their exit,
// for a failure the last lines of the log. Reads are bounded: a parent's first MAX_FRAMES_READ frames, a
// log's last LOG_TAIL_BYTES.

import type { Context } from "../context.js";
import { JobStore } from "../store/jobs.js";
import type { TransitionNotice } from "./outbox.js";

const MAX_FRAMES_READ = 5000;
const FRAMES_PER_CALL = 500;
const MAX_FAILED_LISTED = 20;
const LOG_TAIL_BYTES = 4096;
const LOG_TAIL_LINES = 20;

export interface FailedFrame {
  id: number;
  name: string;
  status: string;
  /** "exited with code 3", "killed by signal SIGKILL", or "" when the log does not say. */
  exit: string;
}

export interface JobReport {
  id: number;
  name: string;
  status: string;
  previousStatus: string;
  submittedBy: string;
  /** The job's share (`default` when it has none). */
  share: string;
  description: string;
  emailTo: string;
  /** The statuses that mail emailTo (",succeeded,failed,"; "" none). */
  mailOn: string;
  rootJobId: number;
  parentIds: number[];
  /** ms since the epoch. */
  at: number;
  url: string;
  frames: {
    total: number;
    read: number;
    byStatus: Record<string, number>;
    failed: FailedFrame[];
  } | null;
  /** The last lines of the output of the job (or its first failed frame), for a failure. */
  logTail: string;
}

const FAILED = new Set(["failed", "abandoned"]);

const REPORT_FIELDS = [
  "name",
  "submittedBy",
  "description",
  "emailTo",
  "root",
  "parents",
  "children",
  "logs",
  "mailOn",
  "share",
] as const;

/**
 * The reports of notices' jobs (null for a job gone since: deleted), their fields read in one round trip for
 * the lot; only a parent's frames and a failure's log tail cost reads of their own.
 */
export async function readJobReports(
  ctx: Context,
  notices: readonly TransitionNotice[],
  serverUrl: string,
): Promise<(JobReport | null)[]> {
  if (notices.length === 0) return [];
  const pipeline = ctx.redis.pipeline();
  for (const notice of notices) pipeline.hmget(ctx.keys.job(notice.jobId), ...REPORT_FIELDS);
  const replies = (await pipeline.exec()) ?? [];
  return Promise.all(
    notices.map((notice, i) => {
      const [err, values] = replies[i] ?? [new Error("no reply"), null];
      if (err) throw err;
      return report(ctx, notice, values as (string | null)[], serverUrl);
    }),
  );
}

async function report(
  ctx: Context,
  notice: TransitionNotice,
  values: (string | null)[],
  serverUrl: string,
): Promise<JobReport | null> {
  const field = (name: (typeof REPORT_FIELDS)[number]): string | null =>
    values[REPORT_FIELDS.indexOf(name)] ?? null;
  const name = field("name");
  if (name === null) return null;
  const children = field("children");
  const logs = field("logs");
  const root = field("root");
  const parents = field("parents");
  const childIds = children === null ? [] : (JSON.parse(children) as number[]);
  const frames = childIds.length === 0 ? null : await readFrames(ctx, childIds);
  let logTail = "";
  if (FAILED.has(notice.status)) {
    const logJob = frames?.failed[0]?.id ?? notice.jobId;
    const tail = (await new JobStore(ctx).output(logJob, LOG_TAIL_BYTES)).toString("utf8");
    logTail = tail
      .split(/\r?\n/)
      .slice(-LOG_TAIL_LINES - 1)
      .join("\n")
      .trimEnd();
    if (logTail === "" && logs !== null) logTail = lastExit(logs);
  }
  return {
    id: notice.jobId,
    name,
    status: notice.status,
    previousStatus: notice.from,
    submittedBy: field("submittedBy") ?? "",
    share: field("share") ?? "default",
    description: field("description") ?? "",
    emailTo: field("emailTo") ?? "",
    mailOn: field("mailOn") ?? "",
    rootJobId: root === null ? notice.jobId : Number(root),
    parentIds: parents === null ? [] : (JSON.parse(parents) as number[]),
    at: notice.at,
    url: `${serverUrl}/jobs/${notice.jobId}`,
    frames,
    logTail,
  };
}

async function readFrames(ctx: Context, childIds: number[]): Promise<NonNullable<JobReport["frames"]>> {
  const ids = childIds.slice(0, MAX_FRAMES_READ);
  const byStatus: Record<string, number> = {};
  const failed: FailedFrame[] = [];
  for (let i = 0; i < ids.length; i += FRAMES_PER_CALL) {
    const part = ids.slice(i, i + FRAMES_PER_CALL);
    const pipeline = ctx.redis.pipeline();
    for (const id of part) pipeline.hmget(ctx.keys.job(id), "status", "name", "logs");
    const replies = (await pipeline.exec()) ?? [];
    replies.forEach(([err, value], j) => {
      if (err) throw err;
      const [status, name, logs] = value as (string | null)[];
      if (status === null || status === undefined) return;
      byStatus[status] = (byStatus[status] ?? 0) + 1;
      if (FAILED.has(status) && failed.length < MAX_FAILED_LISTED)
        failed.push({ id: part[j] as number, name: name ?? "", status, exit: logs ? lastExit(logs) : "" });
    });
  }
  return { total: childIds.length, read: ids.length, byStatus, failed };
}

/** The last "exited with code N" / "killed by signal S" / stall or loss entry of a job's `logs` field. */
function lastExit(logs: string): string {
  let entries: [string, number][];
  try {
    entries = JSON.parse(logs) as [string, number][];
  } catch {
    return "";
  }
  for (let i = entries.length - 1; i >= 0; i--) {
    const text = entries[i]?.[0] ?? "";
    if (
      /^(exited with code|killed by signal|stalled|blade lost|maximum run time|the command could not)/.test(
        text,
      )
    )
      return text;
  }
  return "";
}
