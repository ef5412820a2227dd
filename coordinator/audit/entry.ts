// One audit record: who called which state-changing method on what, from where, and how it ended. Built from
// the call's own parameters, bounded and with secrets masked before it leaves this file: setting names that
// hold secrets (shared/redact.ts) and every value of a job's `environment` (licence keys, tokens) read
// "***", so nothing a record holds needs hiding from any reader.

import type { IncomingMessage } from "node:http";
import type { ClientApiCallMessage } from "../../shared/protocol.js";
import { isSecretName } from "../../shared/redact.js";
import { Fault, isStruct, type XmlRpcValue } from "../../shared/xmlrpc/types.js";
import { fromBrowser } from "../hosts.js";

/** What a masked value reads as. */
export const MASK = "***";

/** Where a call came from, by its HTTP marks. */
export type CallerKind = "browser" | "python" | "openhq-cli" | "openhq-client" | "agent" | "other";

export interface AuditEntry {
  /** ISO time the call was answered. */
  time: string;
  /** The authenticated user, or "anonymous" (access control off, or no credentials). */
  user: string;
  /** The caller's IP address. */
  address: string;
  via: CallerKind;
  method: string;
  /** The job, client, group … ids the call named (its first argument), or that it made (newjob). */
  ids: number[];
  /** The call's arguments, bounded, secrets masked. */
  args: unknown[];
  /** "ok", or the fault code the call was answered with. */
  outcome: "ok" | number;
  /** The fault's message, cut short. */
  fault?: string;
  /** For a call to an agent's own port 5001 (wakeup, terminate): that agent (hostname, or hostname:name). */
  agent?: string;
}

const MAX_TEXT = 200;
const MAX_ITEMS = 20;
const MAX_MEMBERS = 30;
const MAX_DEPTH = 4;
/** Largest `args` JSON kept; a larger one is cut to this many characters (as a string). */
const MAX_ARGS_CHARS = 4096;
const MAX_IDS = 100;

export function callerKind(req: IncomingMessage): CallerKind {
  if (fromBrowser(req)) return "browser";
  return callerKindOf(req.headers["user-agent"] ?? "");
}

/** Where a call came from, by its User-Agent alone (an agent's port 5001 refuses browsers outright). */
export function callerKindOf(agent: string): CallerKind {
  if (agent.startsWith("Python-xmlrpc") || agent.startsWith("xmlrpclib")) return "python";
  if (agent.startsWith("openhq-cli")) return "openhq-cli";
  if (agent.startsWith("openhq-xmlrpc")) return "openhq-client";
  if (agent.startsWith("Mozilla/")) return "browser";
  return "other";
}

function text(value: string): string {
  return value.length > MAX_TEXT ? `${value.slice(0, MAX_TEXT)}…` : value;
}

/** A JSON-safe copy of `value`: bounded in depth, length and members, secrets masked. */
export function masked(value: XmlRpcValue | undefined, depth = 0): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === "string") return text(value);
  if (typeof value === "bigint") return value.toString();
  if (typeof value !== "object") return value;
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return `<${value.length} bytes>`;
  if (depth >= MAX_DEPTH) return "…";
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ITEMS).map((item) => masked(item, depth + 1));
    if (value.length > MAX_ITEMS) items.push(`… ${value.length - MAX_ITEMS} more`);
    return items;
  }
  const out: Record<string, unknown> = {};
  const names = Object.keys(value);
  for (const name of names.slice(0, MAX_MEMBERS)) {
    const member = value[name];
    if (isSecretName(name)) out[name] = MASK;
    else if (name === "environment" && isStruct(member ?? null))
      out[name] = Object.fromEntries(
        Object.keys(member as object)
          .slice(0, MAX_MEMBERS)
          .map((n) => [text(n), MASK]),
      );
    else out[text(name)] = masked(member, depth + 1);
  }
  if (names.length > MAX_MEMBERS) out["…"] = `${names.length - MAX_MEMBERS} more`;
  return out;
}

/** Whole numbers in a value that is one or a list of them. */
function idsIn(value: XmlRpcValue | undefined): number[] {
  const list = Array.isArray(value) ? value : [value];
  const ids: number[] = [];
  for (const item of list.slice(0, MAX_IDS)) if (Number.isSafeInteger(item)) ids.push(item as number);
  return ids;
}

export interface CallFacts {
  user: string | undefined;
  address: string | undefined;
  via: CallerKind;
  method: string;
  params: XmlRpcValue[];
}

/** The record of a call answered with `result` (success) or `fault`. */
export function auditEntry(call: CallFacts, fault: Fault | null, result?: unknown): AuditEntry {
  let args: unknown[] = call.params.map((p) => masked(p));
  const json = JSON.stringify(args);
  if (json.length > MAX_ARGS_CHARS) args = [`${json.slice(0, MAX_ARGS_CHARS)}…`];
  const named = idsIn(call.params[0]);
  // A call that makes things (newjob, createClientGroup …) names them in its result.
  const ids = named.length > 0 || fault !== null ? named : idsIn(result as XmlRpcValue | undefined);
  const entry: AuditEntry = {
    time: new Date().toISOString(),
    user: call.user === undefined || call.user === "" ? "anonymous" : call.user,
    address: call.address ?? "",
    via: call.via,
    method: call.method,
    ids,
    args,
    outcome: fault === null ? "ok" : fault.faultCode,
  };
  if (fault !== null) entry.fault = text(fault.faultString);
  return entry;
}

/** Where the record of an agent's call lies on the agent's word: its clock, and how far it may be off. */
const AGENT_CLOCK_SLACK_MS = 24 * 3600_000;

/**
 * The record of a call to an agent's port 5001, as the agent reported it (a `clientApiCall` message,
 * validated by the link): the call names the agent (its client id and label); its time is the agent's
 * unless that is more than a day off this coordinator's clock.
 */
export function agentCallEntry(call: ClientApiCallMessage, clientId: number, agent: string): AuditEntry {
  const now = Date.now();
  const time = Math.abs(call.time - now) <= AGENT_CLOCK_SLACK_MS ? call.time : now;
  const entry: AuditEntry = {
    time: new Date(time).toISOString(),
    user: call.user === "" ? "anonymous" : text(call.user),
    address: call.address,
    via: callerKindOf(call.userAgent),
    method: call.method,
    ids: [clientId],
    args: [],
    outcome: call.outcome,
    agent: text(agent),
  };
  if (call.fault !== undefined) entry.fault = text(call.fault);
  return entry;
}

/** Whether a `clientApiCall` message holds what agentCallEntry expects, within bounds. */
export function validAgentCall(msg: ClientApiCallMessage): boolean {
  const str = (v: unknown, max: number) => typeof v === "string" && v.length <= max;
  return (
    (msg.method === "wakeup" || msg.method === "terminate") &&
    Number.isSafeInteger(msg.time) &&
    str(msg.user, 256) &&
    str(msg.address, 64) &&
    str(msg.userAgent, 200) &&
    (msg.outcome === "ok" || Number.isSafeInteger(msg.outcome)) &&
    (msg.fault === undefined || str(msg.fault, 300))
  );
}
