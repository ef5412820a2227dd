// What the notice senders are told by the configuration (coordinator/config.ts reads the options; the webhooks
// are read here from the ini's `openhq.webhooks.<name>.<field>` keys). Secrets (the SMTP password, each hook's
// secret) live only here, never in getConfig (api/config.ts hides every openhq.webhooks.* key).

import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { ConfigError } from "../../shared/config-loader.js";
import type { JobStatus } from "../../shared/statuses.js";
import { addressList, mailReasons } from "./addresses.js";

export interface SmtpSettings {
  host: string;
  port: number;
  /** TLS from the first byte (SMTPS). */
  secure: boolean;
  startTls: "auto" | "required" | "off";
  user: string | null;
  password: string | null;
  /** From: of job mail. */
  from: string;
}

export interface WebhookSettings {
  name: string;
  url: string;
  /** The statuses it hears of. */
  events: ReadonlySet<JobStatus>;
  /** Only jobs submitted by one of these users (none = any). */
  users: readonly string[];
  /** Only jobs of one of these shares (none = any). */
  shares: readonly string[];
  /** Only jobs whose name matches (a glob: * and ?). */
  namePattern: RegExp | null;
  /** HMAC-SHA256 key of X-OpenHQ-Signature; null = unsigned. */
  secret: string | null;
  /** "json" (the notice) or "slack" (a Slack-compatible {text} body). */
  format: "json" | "slack";
}

export interface NoticeSettings {
  smtp: SmtpSettings | null;
  /** email_to: where the digest of server errors goes (empty = no digest), from error_email_from. */
  errorTo: string[];
  errorFrom: string;
  webhooks: WebhookSettings[];
  /** First retry wait, ms; doubling up to MAX_BACKOFF_MS. */
  retryMs: number;
  giveUpMs: number;
  maxOutbox: number;
  leaseMs: number;
  pollMs: number;
  digestMs: number;
  /** openhq.serverUrl: the dashboard links. */
  serverUrl: string;
}

/** The options coordinator/config.ts read (names as in its OPTIONS table). */
export interface NoticeOptions {
  smtpServer: string | null;
  smtpTls: boolean;
  smtpStartTls: string;
  smtpUser: string | null;
  smtpPassword: Buffer | undefined;
  smtpFrom: string | null;
  errorEmailFrom: string | null;
  emailTo: string | null;
  retryMs: number;
  giveUpHours: number;
  maxOutbox: number;
  leaseSeconds: number;
  pollMs: number;
  digestMinutes: number;
  serverUrl: string;
}

const DEFAULT_WEBHOOK_EVENTS: JobStatus[] = ["succeeded", "failed", "cancelled", "abandoned"];
const MAX_WEBHOOKS = 32;
const WEBHOOK_KEY = /^(?:[^.]+\.)?openhq\.webhooks\.([A-Za-z0-9_-]{1,64})\.(\w+)$/;
const WEBHOOK_FIELDS = new Set([
  "url",
  "events",
  "users",
  "shares",
  "name",
  "secret",
  "secretFile",
  "format",
]);

export function noticeSettings(options: NoticeOptions, raw: Record<string, string>): NoticeSettings {
  const fallbackFrom = `openhq@${hostname()}`;
  return {
    smtp: options.smtpServer === null ? null : smtpSettings(options, fallbackFrom),
    errorTo: options.emailTo === null ? [] : addressList(options.emailTo).valid,
    errorFrom: options.errorEmailFrom ?? options.smtpFrom ?? fallbackFrom,
    webhooks: webhookSettings(raw),
    retryMs: options.retryMs,
    giveUpMs: options.giveUpHours * 3_600_000,
    maxOutbox: options.maxOutbox,
    leaseMs: options.leaseSeconds * 1000,
    pollMs: options.pollMs,
    digestMs: options.digestMinutes * 60_000,
    serverUrl: options.serverUrl.replace(/\/+$/, ""),
  };
}

/**
 * smtp_server as HQueue takes it (`host`, `host:port`), or as a URL (`smtp://user:password@host:port`,
 * `smtps://…`); a login in the URL is used when openhq.smtp.user is not given.
 */
function smtpSettings(options: NoticeOptions, fallbackFrom: string): SmtpSettings {
  const text = options.smtpServer ?? "";
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `smtp://${text}`);
  } catch {
    throw new ConfigError(`smtp_server: expected host or host:port`, "smtpServer");
  }
  const secure = options.smtpTls || url.protocol === "smtps:";
  if ((url.protocol !== "smtp:" && url.protocol !== "smtps:") || url.hostname === "")
    throw new ConfigError(`smtp_server: expected host or host:port`, "smtpServer");
  const port = url.port === "" ? (secure ? 465 : 25) : Number(url.port);
  const user = options.smtpUser ?? (url.username === "" ? null : decodeURIComponent(url.username));
  const password =
    options.smtpPassword !== undefined
      ? options.smtpPassword.toString("utf8").trim()
      : url.password === ""
        ? null
        : decodeURIComponent(url.password);
  if ((user === null) !== (password === null))
    throw new ConfigError("openhq.smtp.user and openhq.smtp.passwordFile go together", "smtpUser");
  return {
    host: url.hostname.replace(/^\[|\]$/g, ""),
    port,
    secure,
    startTls: options.smtpStartTls as SmtpSettings["startTls"],
    user,
    password,
    from: options.smtpFrom ?? options.errorEmailFrom ?? fallbackFrom,
  };
}

function webhookSettings(raw: Record<string, string>): WebhookSettings[] {
  const byName = new Map<string, Map<string, string>>();
  for (const [key, value] of Object.entries(raw)) {
    const m = WEBHOOK_KEY.exec(key);
    if (!m?.[1] || !m[2]) continue;
    if (!WEBHOOK_FIELDS.has(m[2]))
      throw new ConfigError(`${key}: unknown webhook setting (${[...WEBHOOK_FIELDS].join(", ")})`);
    const fields = byName.get(m[1]) ?? new Map<string, string>();
    fields.set(m[2], value.trim());
    byName.set(m[1], fields);
  }
  if (byName.size > MAX_WEBHOOKS) throw new ConfigError(`openhq.webhooks: at most ${MAX_WEBHOOKS} hooks`);
  return [...byName].map(([name, fields]) => webhook(name, fields));
}

function webhook(name: string, fields: Map<string, string>): WebhookSettings {
  const at = (field: string) => `openhq.webhooks.${name}.${field}`;
  const url = fields.get("url");
  if (url === undefined || !/^https?:\/\/\S+$/.test(url))
    throw new ConfigError(`${at("url")}: expected an http:// or https:// URL`);
  const eventsText = fields.get("events");
  const events = eventsText === undefined ? DEFAULT_WEBHOOK_EVENTS : mailReasons(eventsText).statuses;
  const unknown = eventsText === undefined ? [] : mailReasons(eventsText).unknown;
  if (unknown.length > 0 || events.length === 0)
    throw new ConfigError(
      `${at("events")}: expected job statuses (succeeded, failed, ...), got "${eventsText}"`,
    );
  const format = fields.get("format") ?? "json";
  if (format !== "json" && format !== "slack")
    throw new ConfigError(`${at("format")}: expected json or slack`);
  let secret = fields.get("secret") ?? null;
  const secretFile = fields.get("secretFile");
  if (secretFile !== undefined) {
    try {
      secret = readFileSync(secretFile, "utf8").trim();
    } catch (err) {
      throw new ConfigError(`${at("secretFile")}: ${(err as Error).message}`);
    }
  }
  const pattern = fields.get("name");
  return {
    name,
    url,
    events: new Set(events),
    users: list(fields.get("users")),
    shares: list(fields.get("shares")),
    namePattern: pattern === undefined || pattern === "" ? null : glob(pattern),
    secret: secret === "" ? null : secret,
    format,
  };
}

/** A list setting: names separated by commas, semicolons or blanks. */
function list(text: string | undefined): string[] {
  return (text ?? "").split(/[\s,;]+/).filter((u) => u !== "");
}

function glob(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${body}$`, "s");
}
