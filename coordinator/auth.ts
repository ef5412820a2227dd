// Access control for the XML-RPC API and the dashboard. OFF by default, so HQueue scripts keep working
// unchanged. When on, callers use HTTP Basic auth (Python: ServerProxy("http://user:pass@farm:5000")).
// Two roles: `readonly` users may call the methods in READ_ONLY_METHODS only; `admin` users may call all.
//
// Configuration (hqserver.ini, any section; environment variables win):
//   openhq.auth            on | off (default off)                             env OPENHQ_AUTH
//   openhq.auth.users      "name:role:password" entries separated by spaces or commas; role is admin or
//                          readonly; password is a salted hash from `openhq hash-password` ("scrypt:…"),
//                          or (warned about at start) plain text or "sha256:<hex digest>"
//                                                                            env OPENHQ_AUTH_USERS
//   openhq.auth.usersFile  a file with one "name:role:password" per line (# comments); the password may
//                          hold any character but a newline                 env OPENHQ_AUTH_USERS_FILE
//   openhq.auth.anonymous  none | readonly (default none): what callers without credentials may do
//                                                                            env OPENHQ_AUTH_ANONYMOUS
//   openhq.auth.failuresPerAddress  failed logins an address may make per minute (default 10, 1–10000)
//                                                                            env OPENHQ_AUTH_FAILURES_PER_ADDRESS
//   openhq.auth.failuresPerUser     failed logins per minute against one user, from anywhere (default 30,
//                                   1–100000)                                env OPENHQ_AUTH_FAILURES_PER_USER
// `ping` without credentials is always answered, so health checks need no account.
// Agents are not users: their /agent WebSocket is guarded by openhq.farmSecret (coordinator/config.ts), and
// an agent's own port 5001 by its hqnode.ini `token` (Basic auth password, any user name).
//
// Checking a scrypt hash takes tens of milliseconds, so credentials are checked once per request before
// anything else (`authenticate`, awaited by the coordinator's request and upgrade handlers; every later
// question about the same request reads its answer), and credentials that passed are remembered, keyed by
// a SHA-256 of the Authorization header (VERIFIED_CACHE_SIZE at most): a script's next calls cost a hash.
// Failed logins are logged and throttled per address and per user (login-throttle.ts); credentials already
// verified are never throttled, so a user whose scripts are logged in keeps working through a guessing run.

import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Fault, FaultCode, type CallContext } from "../shared/xmlrpc/types.js";
import { basicCredentials, matchesDigest, sha256 } from "../shared/basic-auth.js";
import { parseScryptHash, SCRYPT_PREFIX, verifyPassword, type ScryptHash } from "../shared/password-hash.js";
import { addressKey, FailureBudget } from "./login-throttle.js";
import { sameOrigin } from "./hosts.js";

export type Role = "admin" | "readonly";

/** Methods that change nothing. Anything not listed (including future extensions) needs an admin. */
export const READ_ONLY_METHODS: ReadonlySet<string> = new Set([
  "ping",
  "getVersion",
  "getServerTime",
  "getConfig",
  "getHQRoot",
  "getServerErrors",
  "getClientErrors",
  "getClientHealth",
  "getClientAttempts",
  "getJobBlocklist",
  "getShares",
  "searchJobNames",
  "getJob",
  "getJobs",
  "getinfo",
  "getstatus",
  "getJobIdsByStatus",
  "getJobIdsBySatus",
  "getUnfinishedRootJobIds",
  "getFinishedRootJobIds",
  "getNumWaitingJobs",
  "getJobOutput",
  "getJobHistory",
  "getJobIdsAssignedToClient",
  "getPermittedClientsList",
  "getAllJobStatusNames",
  "getFinishedJobStatusNames",
  "getFailedJobStatusNames",
  "getSucceededStatusNames",
  "getRunningJobStatusNames",
  "getPausedJobStatusNames",
  "getWaitingJobStatusNames",
  "getUnfinishedJobStatusNames",
  "getStartedJobEventNames",
  "getRescheduledEventNames",
  "getResumedEventNames",
  "getPriorityChangedEventNames",
  "getClients",
  "getClient",
  "getClientByName",
  "getClientByHostname",
  "getClientsByName",
  "getClientsByHostname",
  "getClientGroups",
  "getClientGroup",
  "getClientGroupByName",
  "getResources",
  "getNoteThreadIds",
  "getNoteThreads",
  "getLatestNotes",
  "threadExists",
  "getAuditLog",
  "system.listMethods",
  "system.methodHelp",
  "system.methodSignature",
  // Each call inside a multicall is authorized on its own by the XML-RPC handler.
  "system.multicall",
]);

export interface User {
  name: string;
  role: Role;
}

/** How an account's password is checked: a salted scrypt hash, or an unsalted SHA-256 digest (still accepted in the users file). */
type Secret = { kind: "scrypt"; hash: ScryptHash } | { kind: "sha256"; digest: Buffer };

interface Account extends User {
  secret: Secret;
}

/** Who sent a request: a user, nobody (no credentials), wrong credentials, or a caller over its budget. */
export type Identity = User | null | "bad" | { throttled: number };

export type AuthResult =
  | { ok: true; user: User | null }
  | { ok: false; status: 401 | 403 | 429; message: string; retryAfter?: number };

/** Verified credentials remembered (by a hash of the Authorization header). */
const VERIFIED_CACHE_SIZE = 1024;
/** Addresses whose failed logins are tracked at once; the least recently failed are forgotten first. */
const MAX_TRACKED_ADDRESSES = 16_384;

export interface ThrottleSettings {
  failuresPerAddress: number;
  failuresPerUser: number;
}

export const DEFAULT_THROTTLE: ThrottleSettings = { failuresPerAddress: 10, failuresPerUser: 30 };

export class Auth {
  private readonly accounts = new Map<string, Account>();
  /** sha256(Authorization header) → the user it was verified as. */
  private readonly verified = new Map<string, User>();
  /** What `authenticate` found for a request, for every later check of the same request. */
  private readonly identities = new WeakMap<IncomingMessage, Identity>();
  private readonly byAddress: FailureBudget;
  private readonly byUser: FailureBudget;

  constructor(
    readonly enabled: boolean,
    accounts: Account[],
    readonly anonymous: "none" | "readonly",
    throttle: ThrottleSettings = DEFAULT_THROTTLE,
    private readonly log: (line: string) => void = (line) =>
      process.stderr.write(`${new Date().toISOString()} ${line}\n`),
  ) {
    for (const account of accounts) this.accounts.set(account.name, account);
    this.byAddress = new FailureBudget(throttle.failuresPerAddress, MAX_TRACKED_ADDRESSES);
    // Only configured users are tracked, so this table is as large as the user list at most.
    this.byUser = new FailureBudget(throttle.failuresPerUser, Math.max(1, accounts.length));
  }

  /**
   * Checks the request's credentials once (a promise only when a slow hash must be computed) and remembers
   * the answer for `identify`. Every entry point (XML-RPC, dashboard, WebSocket upgrades) awaits this first.
   */
  authenticate(req: IncomingMessage): Identity | Promise<Identity> {
    if (!this.enabled) return null;
    const known = this.identities.get(req);
    if (known !== undefined) return known;
    const found = this.verify(req);
    if (!(found instanceof Promise)) {
      this.identities.set(req, found);
      return found;
    }
    return found.then((identity) => {
      this.identities.set(req, identity);
      return identity;
    });
  }

  /** Who sent the request, as `authenticate` found (which must have run; a request it missed is refused). */
  identify(req: IncomingMessage): Identity {
    const known = this.identities.get(req);
    if (known !== undefined) return known;
    const found = this.authenticate(req);
    return found instanceof Promise ? "bad" : found;
  }

  private verify(req: IncomingMessage): Identity | Promise<Identity> {
    const header = req.headers.authorization;
    if (!header) return null;
    const cacheKey = sha256(header).toString("base64");
    const cached = this.verified.get(cacheKey);
    if (cached !== undefined) return cached;

    const now = Date.now();
    const address = addressKey(req.socket?.remoteAddress);
    if (this.byAddress.spent(address, now))
      return { throttled: this.byAddress.retryAfterSeconds(address, now) };
    const credentials = basicCredentials(header);
    if (credentials === null || credentials === "malformed") return this.failed(address, undefined, now);
    const account = this.accounts.get(credentials.user);
    if (account !== undefined && this.byUser.spent(account.name, now))
      return { throttled: this.byUser.retryAfterSeconds(account.name, now) };
    const settle = (ok: boolean): Identity => {
      if (!ok || account === undefined) return this.failed(address, credentials.user, Date.now());
      const user = { name: account.name, role: account.role };
      if (this.verified.size >= VERIFIED_CACHE_SIZE) {
        const oldest = this.verified.keys().next();
        if (!oldest.done) this.verified.delete(oldest.value);
      }
      this.verified.set(cacheKey, user);
      return user;
    };
    if (account === undefined) return settle(false);
    if (account.secret.kind === "sha256")
      return settle(matchesDigest(credentials.password, account.secret.digest));
    return verifyPassword(credentials.password, account.secret.hash).then(settle, () => settle(false));
  }

  /** Counts and logs a failed login; the log line names a user only when it is configured. */
  private failed(address: string, userName: string | undefined, now: number): "bad" {
    const account = userName === undefined ? undefined : this.accounts.get(userName);
    const addressSpent = this.byAddress.fail(address, now);
    const userSpent = account !== undefined && this.byUser.fail(account.name, now);
    const who = userName === undefined ? "malformed credentials" : `user ${printable(userName)}`;
    this.log(
      `openhq: failed login (${who}${account === undefined && userName !== undefined ? ", unknown" : ""}) from ${printable(address)}` +
        (addressSpent ? `; address throttled for ${this.byAddress.retryAfterSeconds(address, now)} s` : "") +
        (userSpent && account
          ? `; user ${printable(account.name)} throttled for ${this.byUser.retryAfterSeconds(account.name, now)} s`
          : ""),
    );
    return "bad";
  }

  /** May this request do this? `mutating` = changes state (every method outside READ_ONLY_METHODS). */
  check(req: IncomingMessage, mutating: boolean): AuthResult {
    if (!this.enabled) return { ok: true, user: null };
    const user = this.identify(req);
    if (user === "bad") return { ok: false, status: 401, message: "wrong user name or password" };
    if (user !== null && "throttled" in user)
      return {
        ok: false,
        status: 429,
        message: "too many failed logins: try again later",
        retryAfter: user.throttled,
      };
    if (user === null) {
      if (!mutating && this.anonymous === "readonly") return { ok: true, user: null };
      return { ok: false, status: 401, message: "authentication required" };
    }
    if (mutating && user.role !== "admin") {
      return { ok: false, status: 403, message: `user ${user.name} is read-only` };
    }
    return { ok: true, user };
  }

  /**
   * The XML-RPC handler's `authorize` hook: true (and `ctx.user` set) when allowed, else the Fault to answer
   * with: 401 for missing or wrong credentials, 403 for a read-only user calling a mutating method.
   */
  readonly authorize = (req: IncomingMessage, method: string, ctx: CallContext): true | Fault => {
    // A web page on another site can make a visitor's browser POST a form whose text/plain body is valid
    // XML-RPC (the browser adds its cached farm login). Browsers mark such posts with a foreign Origin;
    // scripts and the CLI send no Origin at all. This holds with access control off too (intranet farms).
    if (!READ_ONLY_METHODS.has(method) && crossSite(req)) {
      return new Fault(FaultCode.forbidden, `${method}: cross-site request refused`);
    }
    // Health checks (load balancers, service managers, `openhq ping`) need no account.
    if (method === "ping" && !req.headers.authorization) return true;
    const result = this.check(req, !READ_ONLY_METHODS.has(method));
    if (!result.ok)
      return new Fault(
        result.status === 401
          ? FaultCode.unauthorized
          : result.status === 429
            ? FaultCode.tooManyCalls
            : FaultCode.forbidden,
        `${method}: ${result.message}`,
      );
    Object.assign(ctx, this.caller(req));
    return true;
  };

  /**
   * Who a request is, for replies that depend on it (job environments): nothing with access control off,
   * else the user and role (a caller without credentials is read-only).
   */
  caller(req: IncomingMessage): CallContext {
    if (!this.enabled) return {};
    const user = this.identify(req);
    if (user === null || user === "bad" || "throttled" in user) return { role: "readonly" };
    return { user: user.name, role: user.role };
  }

  /**
   * The XML-RPC handler's `admit` hook, before any of the body is read: wrong credentials are answered 401
   * at once, a caller over its failed-login budget 429; a caller without credentials may send
   * UNAUTHENTICATED_BODY_BYTES at most (enough for ping and anonymous read-only calls), so nobody
   * unauthenticated makes the server hold or parse a large body.
   */
  readonly admit = (
    req: IncomingMessage,
  ): true | number | { status: number; message: string; headers?: Record<string, string> } => {
    if (!this.enabled) return true;
    const user = this.identify(req);
    if (user === "bad")
      return {
        status: 401,
        message: "wrong user name or password",
        headers: { "www-authenticate": 'Basic realm="openhq", charset="UTF-8"' },
      };
    if (user !== null && "throttled" in user)
      return {
        status: 429,
        message: "too many failed logins: try again later",
        headers: { "retry-after": String(user.throttled) },
      };
    if (user !== null) return true;
    // Nothing an anonymous caller may send is that large: ask for credentials instead of a 413.
    if (Number(req.headers["content-length"]) > UNAUTHENTICATED_BODY_BYTES)
      return {
        status: 401,
        message: "authentication required",
        headers: { "www-authenticate": 'Basic realm="openhq", charset="UTF-8"' },
      };
    return UNAUTHENTICATED_BODY_BYTES;
  };

  /** For dashboard requests: answers 401/403/429 itself and returns false when refused. */
  allowWeb(req: IncomingMessage, res: ServerResponse, mutating: boolean): boolean {
    const result = this.check(req, mutating);
    if (result.ok) return true;
    const headers: Record<string, string> = { "content-type": "text/plain; charset=utf-8" };
    if (result.status === 401) headers["www-authenticate"] = 'Basic realm="openhq", charset="UTF-8"';
    if (result.retryAfter !== undefined) headers["retry-after"] = String(result.retryAfter);
    res.writeHead(result.status, headers).end(`${result.message}\n`);
    return false;
  }

  /**
   * Wraps a request handler so it runs once the request's credentials are checked (at once, when they need
   * no slow hash or were verified before). Requests `checksItself` picks are passed on unchecked: their
   * handler calls `authenticate` itself where it needs to.
   */
  gate<Rest extends unknown[]>(
    handler: (req: IncomingMessage, ...rest: Rest) => void,
    checksItself: (req: IncomingMessage) => boolean = () => false,
  ): (req: IncomingMessage, ...rest: Rest) => void {
    // Access control off: nothing to check, and nothing added to every request's path.
    if (!this.enabled) return handler;
    return (req, ...rest) => {
      if (checksItself(req)) {
        handler(req, ...rest);
        return;
      }
      const found = this.authenticate(req);
      if (found instanceof Promise) void found.then(() => handler(req, ...rest));
      else handler(req, ...rest);
    };
  }
}

/** A client-chosen text for a log line: control characters (a newline would forge a line) escaped. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- escaping control characters is the point
  const escaped = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\\"]/g, (ch) =>
    ch === "\\" || ch === '"' ? `\\${ch}` : `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  return `"${escaped.length > 200 ? `${escaped.slice(0, 200)}…` : escaped}"`;
}

export class AuthConfigError extends Error {}

function crossSite(req: IncomingMessage): boolean {
  return !sameOrigin(req);
}

/** The largest request body a caller without credentials may send while access control is on. */
export const UNAUTHENTICATED_BODY_BYTES = 64 * 1024;

function parseAccount(entry: string, where: string): Account {
  const first = entry.indexOf(":");
  const second = entry.indexOf(":", first + 1);
  if (first <= 0 || second < 0)
    throw new AuthConfigError(`${where}: expected name:role:password, got ${entry}`);
  const name = entry.slice(0, first);
  const role = entry.slice(first + 1, second);
  const password = entry.slice(second + 1);
  if (role !== "admin" && role !== "readonly") {
    throw new AuthConfigError(`${where}: role of ${name} must be admin or readonly, got ${role}`);
  }
  if (password.startsWith(SCRYPT_PREFIX)) {
    try {
      return { name, role, secret: { kind: "scrypt", hash: parseScryptHash(password) } };
    } catch (err) {
      throw new AuthConfigError(`${where}: password of ${name}: ${(err as Error).message}`);
    }
  }
  const hashed = /^sha256:([0-9a-f]{64})$/i.exec(password);
  const digest = hashed?.[1] ? Buffer.from(hashed[1], "hex") : sha256(password);
  return { name, role, secret: { kind: "sha256", digest } };
}

/** A whole number setting within [min, max]; an AuthConfigError naming the option otherwise. */
function boundedInt(text: string, option: string, fallback: number, min: number, max: number): number {
  if (text === "") return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max)
    throw new AuthConfigError(`${option}: expected a whole number from ${min} to ${max}, got ${text}`);
  return value;
}

/**
 * Reads the settings described at the top of this file. Throws AuthConfigError on a bad entry. With access
 * control on, `warn` is told of every password stored without a salted hash.
 */
export function loadAuth(
  raw: Record<string, string>,
  env: NodeJS.ProcessEnv,
  warn: (line: string) => void = (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
): Auth {
  const pick = (envName: string, key: string): string => (env[envName] ?? raw[key] ?? "").trim();
  const enabled = ["on", "true", "yes", "1"].includes(pick("OPENHQ_AUTH", "openhq.auth").toLowerCase());
  const anonymous = pick("OPENHQ_AUTH_ANONYMOUS", "openhq.auth.anonymous").toLowerCase() || "none";
  if (anonymous !== "none" && anonymous !== "readonly") {
    throw new AuthConfigError(`openhq.auth.anonymous: expected none or readonly, got ${anonymous}`);
  }
  const throttle: ThrottleSettings = {
    failuresPerAddress: boundedInt(
      pick("OPENHQ_AUTH_FAILURES_PER_ADDRESS", "openhq.auth.failuresPerAddress"),
      "openhq.auth.failuresPerAddress",
      DEFAULT_THROTTLE.failuresPerAddress,
      1,
      10_000,
    ),
    failuresPerUser: boundedInt(
      pick("OPENHQ_AUTH_FAILURES_PER_USER", "openhq.auth.failuresPerUser"),
      "openhq.auth.failuresPerUser",
      DEFAULT_THROTTLE.failuresPerUser,
      1,
      100_000,
    ),
  };
  const accounts = pick("OPENHQ_AUTH_USERS", "openhq.auth.users")
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((entry) => parseAccount(entry, "openhq.auth.users"));
  const file = pick("OPENHQ_AUTH_USERS_FILE", "openhq.auth.usersFile");
  if (file) {
    for (const line of readFileSync(file, "utf8").split(/\r?\n/)) {
      if (line.trim() === "" || line.trimStart().startsWith("#")) continue;
      accounts.push(parseAccount(line, file));
    }
  }
  if (enabled && accounts.length === 0) {
    throw new AuthConfigError(
      "openhq.auth is on but no users are configured (openhq.auth.users or usersFile)",
    );
  }
  if (enabled) {
    const weak = accounts.filter((a) => a.secret.kind !== "scrypt").map((a) => printable(a.name));
    if (weak.length > 0)
      warn(
        `openhq: warning: the password of ${weak.join(", ")} is stored without a salted hash: ` +
          "replace it with the output of `openhq hash-password`",
      );
  }
  return new Auth(enabled, accounts, anonymous, throttle);
}
