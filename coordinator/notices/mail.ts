// Job mail and the error digest: the text (from a JobReport) and the sending (nodemailer, through
// smtp_server). Nothing a job says can add a header: the subject is one line of printable text, addresses
// are checked (notices/addresses.ts) and handed to nodemailer as the SMTP envelope, never as header text.

import nodemailer, { type Transporter } from "nodemailer";
import type { SmtpSettings } from "./settings.js";
import type { JobReport } from "./job-report.js";
import type { MailNotice } from "./outbox.js";

/** Bounds on a mail: its subject and its body. */
const MAX_SUBJECT_CHARS = 200;
const MAX_TEXT_CHARS = 64 * 1024;

/** One line of printable text (no CR, LF or other control characters), at most `max` characters. */
export function headerText(text: string, max = MAX_SUBJECT_CHARS): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what must go
  const line = text.replace(/[\x00-\x1f\x7f\u2028\u2029]+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

export function jobMail(report: JobReport, to: string[], from: string, at: number): MailNotice {
  const subject = headerText(`[openhq] job ${report.id} ${report.status}: ${report.name}`);
  const lines = [
    `Job:          ${report.name}`,
    `Id:           ${report.id}`,
    `Status:       ${report.status}${report.previousStatus ? ` (was ${report.previousStatus})` : ""}`,
    `Submitted by: ${report.submittedBy || "(unknown)"}`,
    `When:         ${new Date(report.at).toISOString()}`,
    `Dashboard:    ${report.url}`,
  ];
  if (report.description) lines.push(`Description:  ${report.description}`);
  if (report.frames) {
    const f = report.frames;
    const counts = Object.entries(f.byStatus)
      .map(([status, n]) => `${n} ${status}`)
      .join(", ");
    lines.push("", `Frames: ${f.total}${f.read < f.total ? ` (the first ${f.read} read)` : ""}: ${counts}`);
    if (f.failed.length > 0) {
      lines.push("Failed frames:");
      for (const frame of f.failed)
        lines.push(`  ${frame.id} ${frame.name}: ${frame.status}${frame.exit ? `, ${frame.exit}` : ""}`);
    }
  }
  if (report.logTail) lines.push("", "Last lines of the log:", report.logTail);
  return {
    type: "mail",
    kind: "job",
    jobId: report.id,
    to,
    from,
    subject,
    text: clip(lines.join("\n")),
    at,
    tries: 0,
  };
}

export function digestMail(
  errors: { message: string; time: number }[],
  total: string,
  to: string[],
  from: string,
  serverUrl: string,
  at: number,
): MailNotice {
  const lines = [
    `${total} server error(s) were recorded on the openhq farm ${serverUrl} since the last digest.`,
    `The newest ${errors.length}:`,
    "",
    ...errors.map((e) => `${new Date(e.time).toISOString()}  ${e.message}`),
    "",
    `All of them: openhq errors, or getServerErrors() on ${serverUrl}`,
  ];
  return {
    type: "mail",
    kind: "digest",
    to,
    from,
    subject: headerText(`[openhq] ${total} server error(s) on ${serverUrl}`),
    text: clip(lines.join("\n")),
    at,
    tries: 0,
  };
}

function clip(text: string): string {
  return text.length > MAX_TEXT_CHARS ? `${text.slice(0, MAX_TEXT_CHARS)}\n[... cut ...]` : text;
}

/** An error the server gave for good (5xx): retrying the same mail will not help. */
export function isPermanentMailError(err: unknown): boolean {
  const code = (err as { responseCode?: unknown }).responseCode;
  return typeof code === "number" && code >= 500 && code < 600;
}

export class MailSender {
  private readonly transport: Transporter;

  /**
   * `timeoutMs` bounds each step (connect, greeting, each reply): a send taking longer fails and is retried,
   * so a dead server never holds a sender longer.
   */
  constructor(smtp: SmtpSettings, timeoutMs: number) {
    this.transport = nodemailer.createTransport({
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure,
      requireTLS: smtp.startTls === "required",
      ignoreTLS: smtp.startTls === "off",
      ...(smtp.user !== null && smtp.password !== null
        ? { auth: { user: smtp.user, pass: smtp.password } }
        : {}),
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
      disableFileAccess: true,
      disableUrlAccess: true,
    });
  }

  async send(mail: MailNotice): Promise<void> {
    await this.transport.sendMail({
      from: mail.from,
      to: mail.to,
      envelope: { from: mail.from, to: mail.to },
      subject: headerText(mail.subject),
      text: mail.text,
      headers: { "Auto-Submitted": "auto-generated" },
    });
  }

  close(): void {
    this.transport.close();
  }
}
