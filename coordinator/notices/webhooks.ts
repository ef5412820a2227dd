// Webhook deliveries: which hooks want a transition (events, users, shares, job name pattern), the JSON (or
// Slack-compatible) body, and the signed POST: X-OpenHQ-Signature is "sha256=" + the hex HMAC-SHA256 of the
// body with the hook's secret; X-OpenHQ-Delivery is an id that stays the same across retries, for receivers
// to de-duplicate on.

import { createHmac } from "node:crypto";
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { JobReport } from "./job-report.js";
import type { HookNotice } from "./outbox.js";
import type { WebhookSettings } from "./settings.js";

/** A body larger than this loses its log tail, then its failed frames list. */
const MAX_BODY_BYTES = 64 * 1024;

export function hookWants(hook: WebhookSettings, report: JobReport): boolean {
  if (!hook.events.has(report.status as never)) return false;
  if (hook.users.length > 0 && !hook.users.includes(report.submittedBy)) return false;
  if (hook.shares.length > 0 && !hook.shares.includes(report.share)) return false;
  return hook.namePattern === null || hook.namePattern.test(report.name);
}

export function hookNotice(
  hook: WebhookSettings,
  report: JobReport,
  delivery: string,
  at: number,
): HookNotice {
  return {
    type: "hook",
    hook: hook.name,
    jobId: report.id,
    delivery,
    body: hookBody(hook, report, delivery),
    at,
    tries: 0,
  };
}

function hookBody(hook: WebhookSettings, report: JobReport, delivery: string): string {
  if (hook.format === "slack") {
    const frames = report.frames
      ? ` (${Object.entries(report.frames.byStatus)
          .map(([s, n]) => `${n} ${s}`)
          .join(", ")})`
      : "";
    const who = report.submittedBy ? ` by ${report.submittedBy}` : "";
    return JSON.stringify({
      text: `openhq: job <${report.url}|${report.id} ${slackText(report.name)}>${who} ${report.status}${frames}`,
    });
  }
  const payload = {
    event: `job.${report.status}`,
    delivery,
    at: new Date(report.at).toISOString(),
    job: {
      id: report.id,
      name: report.name,
      status: report.status,
      previousStatus: report.previousStatus,
      submittedBy: report.submittedBy,
      share: report.share,
      description: report.description,
      rootJobId: report.rootJobId,
      parentIds: report.parentIds,
      url: report.url,
      frames: report.frames,
      logTail: report.logTail,
    },
  };
  let body = JSON.stringify(payload);
  if (Buffer.byteLength(body) > MAX_BODY_BYTES) {
    payload.job.logTail = "";
    if (payload.job.frames) payload.job.frames = { ...payload.job.frames, failed: [] };
    body = JSON.stringify(payload);
  }
  return body;
}

/** Slack's mrkdwn: &, < and > must be escaped in text. */
function slackText(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export function signature(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/**
 * POSTs deliveries over kept-alive connections (node:http, not fetch: a POST costs the event loop that
 * dispatches a fifth of fetch's CPU). Redirects are not followed: a 3xx is a failure like any other non-2xx.
 */
export class WebhookPoster {
  private readonly agents: { http: HttpAgent; https: HttpsAgent };

  constructor(maxSockets: number) {
    this.agents = {
      http: new HttpAgent({ keepAlive: true, maxSockets }),
      https: new HttpsAgent({ keepAlive: true, maxSockets }),
    };
  }

  /** Throws on a network error, a timeout (the whole exchange) or a status other than 2xx. */
  post(hook: WebhookSettings, notice: HookNotice, timeoutMs: number): Promise<void> {
    const body = Buffer.from(notice.body);
    const headers: Record<string, string | number> = {
      "content-type": "application/json",
      "content-length": body.length,
      "user-agent": "openhq-webhook",
      "x-openhq-delivery": notice.delivery,
      "x-openhq-event": `job`,
    };
    if (hook.secret !== null) headers["x-openhq-signature"] = signature(hook.secret, notice.body);
    const url = new URL(hook.url);
    const secure = url.protocol === "https:";
    return new Promise<void>((resolve, reject) => {
      const req = (secure ? httpsRequest : httpRequest)(url, {
        method: "POST",
        headers,
        agent: secure ? this.agents.https : this.agents.http,
      });
      const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      req.on("error", (err) => {
        clearTimeout(timer);
        reject(withoutAddress(err));
      });
      req.on("response", (res) => {
        // The answer is not read beyond its status; it is drained so that the connection can be used again.
        res.resume();
        res.on("end", () => {
          clearTimeout(timer);
          const status = res.statusCode ?? 0;
          if (status < 200 || status > 299) reject(new Error(`HTTP ${status}`));
          else resolve();
        });
        res.on("error", (err) => {
          clearTimeout(timer);
          reject(withoutAddress(err));
        });
      });
      req.end(body);
    });
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}

/**
 * A network error as the outcome shows it (the Notices page, the log): its code, never the hook's address,
 * which Node's messages name ("connect ECONNREFUSED 10.0.0.5:443") and which may hold a token.
 */
function withoutAddress(err: NodeJS.ErrnoException): Error {
  if (err.code === undefined) return err;
  return new Error(`network error ${err.code}`);
}
