// The audit log: every state-changing XML-RPC call (scripts, the dashboard's buttons, the CLI all come through
// the one XML-RPC handler; calls inside system.multicall one by one), recorded once answered, allowed or
// refused. State-changing = served and not in READ_ONLY_METHODS (coordinator/auth.ts), the same list that
// decides which calls need an admin, so the two cannot drift. A record goes to the capped Redis stream
// (store/audit.ts) and the day's JSON-lines file (day-files.ts); neither is awaited by the call, and a
// failure of either is logged, never answered.

import type { IncomingMessage } from "node:http";
import { join } from "node:path";
import type { CallContext, Fault, XmlRpcServerOptions, XmlRpcValue } from "../../shared/xmlrpc/index.js";
import { READ_ONLY_METHODS } from "../auth.js";
import type { Context } from "../context.js";
import { appendAudit } from "../store/audit.js";
import { auditEntry, callerKind, type AuditEntry } from "./entry.js";
import { AuditDayFiles } from "./day-files.js";

/** Least time between two log lines about failed Redis writes. */
const FAILURE_LOG_EVERY_MS = 60_000;

export class AuditLog {
  readonly files: AuditDayFiles;
  private lastFailureLog = 0;
  private failures = 0;

  constructor(
    private readonly ctx: Context,
    /** The methods served: only these are recorded (a client-chosen unknown name never is). */
    private readonly served: ReadonlySet<string>,
    private readonly log: (line: string) => void,
    /** Who sent a request whose call was refused before access control named its user. */
    private readonly who: (req: IncomingMessage) => string | undefined = () => undefined,
  ) {
    this.files = new AuditDayFiles(join(ctx.logs.files.root, "audit"), log);
  }

  /** Whether calls of `method` are recorded. */
  records(method: string): boolean {
    return this.served.has(method) && !READ_ONLY_METHODS.has(method);
  }

  /** The XML-RPC handler's `audit` hook. */
  readonly hook: NonNullable<XmlRpcServerOptions["audit"]> = (
    req: IncomingMessage,
    method: string,
    params: XmlRpcValue[],
    call: CallContext,
  ) => {
    if (!this.records(method)) return undefined;
    return (fault: Fault | null, result?: unknown) => {
      this.record(
        auditEntry(
          {
            user: call.user ?? this.who(req),
            address: call.remoteAddress,
            via: callerKind(req),
            method,
            params,
          },
          fault,
          result,
        ),
      );
    };
  };

  record(entry: AuditEntry): void {
    const json = JSON.stringify(entry);
    this.files.add(entry.time, json);
    appendAudit(this.ctx, json).catch((err: unknown) => {
      this.failures++;
      const now = Date.now();
      if (now - this.lastFailureLog < FAILURE_LOG_EVERY_MS) return;
      this.lastFailureLog = now;
      this.log(`audit: ${this.failures} record(s) not stored in Redis: ${(err as Error).message}`);
      this.failures = 0;
    });
  }

  /** Writes what waits for the day files. */
  stop(): Promise<void> {
    return this.files.flush();
  }
}
