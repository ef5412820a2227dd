// Access control for the XML-RPC API and the dashboard. OFF by default, so HQueue scripts keep working
// unchanged. When on, callers use HTTP Basic auth (Python: ServerProxy("http://user:pass@farm:5000")).
// Two roles: `readonly` users may call the methods in READ_ONLY_METHODS only; `admin` users may call all.
//
// Configuration (hqserver.ini, any section; environment variables win):
//   openhq.auth            on | off (default off)                             env OPENHQ_AUTH
//   openhq.auth.users      "name:role:password" entries separated by spaces or commas; role is admin or
//                          readonly; password is plain text or "sha256:<hex digest>"   env OPENHQ_AUTH_USERS
//   openhq.auth.usersFile  a file with one "name:role:password" per line (# comments); the password may
//                          hold any character but a newline                 env OPENHQ_AUTH_USERS_FILE
//   openhq.auth.anonymous  none | readonly (default none): what callers without credentials may do
//                                                                            env OPENHQ_AUTH_ANONYMOUS
// `ping` without credentials is always answered, so health checks need no account.
// Agents are not users: their /agent WebSocket is guarded by openhq.agentToken (coordinator/config.ts), and
// an agent's own port 5001 by its hqnode.ini `token` (Basic auth password, any user name).

import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Fault, FaultCode, type CallContext } from "../shared/xmlrpc/types.js";
import type { Context } from "./context.js";
import { basicCredentials, matchesDigest, sha256 } from "../shared/basic-auth.js";
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

interface Account extends User {
  /** sha256 of the password */
  digest: Buffer;
}

export type AuthResult = { ok: true; user: User | null } | { ok: false; status: 401 | 403; message: string };

export class Auth {
  private readonly accounts = new Map<string, Account>();

  constructor(
    readonly enabled: boolean,
    accounts: Account[],
    readonly anonymous: "none" | "readonly",
  ) {
    for (const account of accounts) this.accounts.set(account.name, account);
  }

  /** Who sent the request: null when no (or malformed) credentials, "bad" when they do not match. */
  identify(req: IncomingMessage): User | null | "bad" {
    const credentials = basicCredentials(req.headers.authorization);
    if (credentials === null) return null;
    if (credentials === "malformed") return "bad";
    const account = this.accounts.get(credentials.user);
    if (!account || !matchesDigest(credentials.password, account.digest)) return "bad";
    return { name: account.name, role: account.role };
  }

  /** May this request do this? `mutating` = changes state (every method outside READ_ONLY_METHODS). */
  check(req: IncomingMessage, mutating: boolean): AuthResult {
    if (!this.enabled) return { ok: true, user: null };
    const user = this.identify(req);
    if (user === "bad") return { ok: false, status: 401, message: "wrong user name or password" };
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
        result.status === 401 ? FaultCode.unauthorized : FaultCode.forbidden,
        `${method}: ${result.message}`,
      );
    if (result.user) ctx.user = result.user.name;
    return true;
  };

  /**
   * The XML-RPC handler's `admit` hook, before any of the body is read: wrong credentials are answered 401
   * at once; a caller without credentials may send UNAUTHENTICATED_BODY_BYTES at most (enough for ping and
   * anonymous read-only calls), so nobody unauthenticated makes the server hold or parse a large body.
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

  /** For dashboard requests: answers 401/403 itself and returns false when refused. */
  allowWeb(req: IncomingMessage, res: ServerResponse, mutating: boolean): boolean {
    const result = this.check(req, mutating);
    if (result.ok) return true;
    const headers: Record<string, string> = { "content-type": "text/plain; charset=utf-8" };
    if (result.status === 401) headers["www-authenticate"] = 'Basic realm="openhq", charset="UTF-8"';
    res.writeHead(result.status, headers).end(`${result.message}\n`);
    return false;
  }
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
  const hashed = /^sha256:([0-9a-f]{64})$/i.exec(password);
  return { name, role, digest: hashed?.[1] ? Buffer.from(hashed[1], "hex") : sha256(password) };
}

/** Reads the settings described at the top of this file. Throws AuthConfigError on a bad entry. */
export function loadAuth(raw: Record<string, string>, env: NodeJS.ProcessEnv): Auth {
  const pick = (envName: string, key: string): string => (env[envName] ?? raw[key] ?? "").trim();
  const enabled = ["on", "true", "yes", "1"].includes(pick("OPENHQ_AUTH", "openhq.auth").toLowerCase());
  const anonymous = pick("OPENHQ_AUTH_ANONYMOUS", "openhq.auth.anonymous").toLowerCase() || "none";
  if (anonymous !== "none" && anonymous !== "readonly") {
    throw new AuthConfigError(`openhq.auth.anonymous: expected none or readonly, got ${anonymous}`);
  }
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
  return new Auth(enabled, accounts, anonymous);
}

const perContext = new WeakMap<Context, Auth>();

/** The one Auth of a coordinator process, shared by the XML-RPC handler, the dashboard and /metrics. */
export function authFor(ctx: Context): Auth {
  let auth = perContext.get(ctx);
  if (!auth) {
    auth = loadAuth(ctx.settings.raw, process.env);
    perContext.set(ctx, auth);
  }
  return auth;
}
