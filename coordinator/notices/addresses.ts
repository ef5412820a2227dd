// A job's emailTo and emailReasons as HQueue submitters write them: addresses and reasons separated by commas,
// semicolons or spaces, reasons in HQueue's words or openhq's status names. Lenient where HQueue is (an
// address that cannot be mailed is kept and skipped at send, with a log line), strict only on size.

import { isJobStatus, type JobStatus } from "../../shared/statuses.js";

/** Bounds on what a job may ask for: more is a Fault at submit. */
export const MAX_EMAIL_TO_CHARS = 4096;
export const MAX_EMAIL_ADDRESSES = 50;
export const MAX_EMAIL_REASONS_CHARS = 1024;

/** HQueue's and common words for a status (the status names themselves are taken as they are). */
const REASON_WORDS: Record<string, JobStatus> = {
  started: "running",
  start: "running",
  completed: "succeeded",
  complete: "succeeded",
  done: "succeeded",
  success: "succeeded",
  succeed: "succeeded",
  failure: "failed",
  fail: "failed",
  error: "failed",
  canceled: "cancelled",
  cancel: "cancelled",
  abandon: "abandoned",
  pause: "paused",
  resumed: "resuming",
  resume: "resuming",
};

/** The statuses a reasons text names, and the words it has that name none. */
export function mailReasons(text: string): { statuses: JobStatus[]; unknown: string[] } {
  const statuses = new Set<JobStatus>();
  const unknown: string[] = [];
  for (const word of text.toLowerCase().split(/[\s,;]+/)) {
    if (word === "") continue;
    const status = isJobStatus(word) ? word : REASON_WORDS[word];
    if (status === undefined) unknown.push(word);
    else statuses.add(status);
  }
  return { statuses: [...statuses], unknown };
}

/**
 * Something SMTP can carry as one address: local@domain, no spaces, no control characters, nothing that
 * would start a display name, a group or another header.
 */
// eslint-disable-next-line no-control-regex -- control characters are exactly what must not be in it
const MAILABLE = /^[^\s@<>()[\]\\,;:"\x00-\x1f\x7f]+@[A-Za-z0-9.-]+$/;

/** The addresses of an emailTo text: those mail can go to, and the rest (skipped, logged). */
export function addressList(text: string): { valid: string[]; invalid: string[] } {
  const valid: string[] = [];
  const invalid: string[] = [];
  for (const word of text.split(/[\s,;]+/)) {
    const item = word.replace(/^<(.*)>$/, "$1");
    if (item === "") continue;
    if (MAILABLE.test(item)) {
      if (!valid.includes(item)) valid.push(item);
    } else invalid.push(item);
  }
  return { valid, invalid };
}

/**
 * The job field `mailOn` (",succeeded,failed,") the transitions test (lua/includes/notices.lua), or null when
 * the job wants no mail: emailTo and emailReasons must both be given.
 */
export function mailOnField(emailTo: string | undefined, emailReasons: string | undefined): string | null {
  if (emailTo === undefined || emailReasons === undefined) return null;
  if (addressList(emailTo).valid.length === 0) return null;
  const { statuses } = mailReasons(emailReasons);
  return statuses.length === 0 ? null : `,${statuses.join(",")},`;
}
