// The client XML-RPC API on port 5001, as HQueue's reference describes it: `wakeup()` forces a heartbeat,
// `terminate()` starts a graceful exit. Both return None. Every call, allowed or refused, is told to
// `ApiHandlers.called` for the farm's audit log (api-calls.ts sends it to the coordinator).

import type { IncomingMessage, Server } from "node:http";
import { basicCredentials, matchesDigest, sha256 } from "../shared/basic-auth.js";
import { ConnectionGate, type ConnectionLimits } from "../shared/connection-gate.js";
import { RateBuckets } from "../shared/rate-buckets.js";
import { createXmlRpcServer } from "../shared/xmlrpc/server.js";
import type { ClientApiCallMessage } from "../shared/protocol.js";
import { Fault, FaultCode, type CallContext } from "../shared/xmlrpc/types.js";
import type { Logger } from "./log.js";

/** What the audit log learns of one call. */
export type ApiCall = Omit<ClientApiCallMessage, "type">;

export interface ApiHandlers {
  wakeup(): void;
  terminate(): void;
  called(call: ApiCall): void;
}

const AUDITED = new Set(["wakeup", "terminate"]);
const MAX_USER_AGENT = 200;
const MAX_USER = 256;
const MAX_FAULT = 300;

/** Calls per second one caller address may make (a burst of BURST is allowed), and calls per multicall. */
const CALLS_PER_SECOND = 10;
const BURST = 20;
const MAX_MULTICALL = 16;
/** wakeup() forces at most one heartbeat per this many ms, however often it is called. */
const WAKEUP_MIN_MS = 1000;
/** A call is a few hundred bytes: its headers and its whole request come within seconds or not at all. */
const TIMEOUTS = { headersMs: 10_000, requestMs: 15_000 };

/**
 * Who may call what on port 5001:
 * - no browser, ever: a request with an Origin or Sec-Fetch-Site header (every browser POST has one) is
 *   refused before its body is read, so neither a cross-site form nor a DNS-rebound page reaches the API;
 * - `terminate` needs the farm token as the Basic auth password (any user name) when the farm's access
 *   control is on (the coordinator says so in `welcome`; until the first welcome, to be safe, too):
 *   Python's ServerProxy("http://hq:TOKEN@node:5001"), `openhq terminate --agent-token`. With it off,
 *   terminate answers scripts as HQueue's client does (browsers are still refused);
 * - `wakeup` is open (HQueue's server calls it without credentials) but only forces a heartbeat at most
 *   once a second;
 * - each caller address gets CALLS_PER_SECOND calls (multicall entries count one by one).
 */
function access(
  token: string | null,
  tokenRequired: () => boolean,
): {
  admit: (req: IncomingMessage) => true | { status: number; message: string };
  authorize: (req: IncomingMessage, method: string, ctx: CallContext) => true | Fault;
} {
  const digest = token === null ? null : sha256(token);
  const buckets = new RateBuckets(CALLS_PER_SECOND, BURST);
  return {
    admit: (req) =>
      req.headers.origin !== undefined || req.headers["sec-fetch-site"] !== undefined
        ? { status: 403, message: "browsers may not call an agent's API" }
        : true,
    authorize: (req, method, ctx) => {
      if (!buckets.take(req.socket.remoteAddress ?? ""))
        return new Fault(FaultCode.tooManyCalls, `${method}: too many calls, slow down`);
      if (method !== "terminate" || digest === null || !tokenRequired()) return true;
      const credentials = basicCredentials(req.headers.authorization);
      if (
        credentials !== null &&
        credentials !== "malformed" &&
        matchesDigest(credentials.password, digest)
      ) {
        // Who gave the token, as far as the caller says (any user name goes with it).
        ctx.user = credentials.user.slice(0, MAX_USER);
        return true;
      }
      return new Fault(FaultCode.unauthorized, "terminate needs the farm token (Basic auth password)");
    },
  };
}

export async function startApi(
  port: number,
  host: string,
  token: string | null,
  handlers: ApiHandlers,
  log: Logger,
  limits: ConnectionLimits,
  tokenRequired: () => boolean = () => true,
): Promise<Server> {
  const { admit, authorize } = access(token, tokenRequired);
  let lastWakeup = 0;
  const server = createXmlRpcServer(
    {
      wakeup: () => {
        const now = Date.now();
        if (now - lastWakeup >= WAKEUP_MIN_MS) {
          lastWakeup = now;
          handlers.wakeup();
        }
        return null;
      },
      terminate: () => {
        log.info("terminate() called: finishing running jobs, then exiting");
        handlers.terminate();
        return null;
      },
    },
    {
      maxBodyBytes: 64 * 1024,
      maxMulticall: MAX_MULTICALL,
      maxReplyBytes: 64 * 1024,
      admit,
      authorize,
      audit: (req, method, _params, ctx) => {
        if (!AUDITED.has(method)) return undefined;
        return (fault) =>
          handlers.called({
            method: method as ApiCall["method"],
            time: Date.now(),
            user: ctx.user ?? "",
            address: req.socket.remoteAddress ?? "",
            userAgent: String(req.headers["user-agent"] ?? "").slice(0, MAX_USER_AGENT),
            outcome: fault === null ? "ok" : fault.faultCode,
            ...(fault === null ? {} : { fault: fault.faultString.slice(0, MAX_FAULT) }),
          });
      },
      onError: (err, method) => log.error(`xml-rpc ${method ?? "?"}: ${err.message}`),
    },
    TIMEOUTS,
  );
  // Whoever can reach the port could otherwise hold every file handle of the agent (and its jobs').
  new ConnectionGate(server, limits, (count) =>
    log.warn(
      `client port: refused ${count} connection(s) over the cap (maxConnections, maxConnectionsPerAddress)`,
    ),
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      // An accept() that fails (no file handles left) is reported here: without a listener it would end
      // the agent.
      server.on("error", (err) => log.error(`client port: ${err.message}`));
      resolve();
    });
  });
  return server;
}

/** Stops listening; lets in-flight answers (terminate's own) go out first. */
export async function stopApi(server: Server): Promise<void> {
  await new Promise((r) => setTimeout(r, 100));
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
