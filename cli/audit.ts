// `openhq audit [--since 1h] [--user U] [--method M] [--limit N]`: the farm's audit log (getAuditLog),
// newest first: when, who, from where, what, and how it ended.

import type { XmlRpcValue } from "../shared/xmlrpc/types.js";
import type { Io } from "./commands.js";
import { CliError, Exit } from "./exit-codes.js";
import { table, toJson } from "./format.js";

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** `--since`: a duration back from now ("90s", "30m", "1h", "2d") or a date ("2026-12-04T03:00Z"); epoch s. */
export function sinceSeconds(text: string, now = Date.now()): number {
  const ago = /^(\d+)\s*([smhdw])$/.exec(text.trim());
  if (ago) return Math.floor(now / 1000) - Number(ago[1]) * (UNITS[ago[2] as string] as number);
  const date = Date.parse(text);
  if (Number.isNaN(date))
    throw new CliError(`--since: expected a duration (30m, 1h, 2d) or a date, got ${text}`, Exit.usage);
  return Math.floor(date / 1000);
}

interface AuditAnswer {
  entries: Record<string, XmlRpcValue>[];
  next: string;
}

export async function showAudit(
  io: Io,
  filters: { since: string | undefined; user: string; method: string | undefined; limit: number },
): Promise<number> {
  const query: Record<string, XmlRpcValue> = { limit: filters.limit };
  if (filters.since !== undefined) query["since"] = sinceSeconds(filters.since);
  if (filters.user !== "") query["user"] = filters.user;
  if (filters.method !== undefined) query["method"] = filters.method;
  const answer = await io.server.call<AuditAnswer>("getAuditLog", query);
  if (io.json) {
    io.out.write(toJson(answer.entries));
    return Exit.ok;
  }
  const rows = answer.entries.map((e) => [
    String(e["time"] ?? "")
      .replace("T", " ")
      .slice(0, 19),
    String(e["user"] ?? ""),
    `${String(e["address"] ?? "")} ${String(e["via"] ?? "")}`,
    typeof e["agent"] === "string"
      ? `${String(e["method"] ?? "")} on ${e["agent"]}:5001`
      : String(e["method"] ?? ""),
    Array.isArray(e["ids"]) ? e["ids"].join(",") : "",
    e["outcome"] === "ok" ? "ok" : `fault ${String(e["outcome"])}`,
  ]);
  io.out.write(table(["TIME (UTC)", "USER", "FROM", "METHOD", "IDS", "OUTCOME"], rows));
  if (answer.next !== "") io.out.write(`(more: raise --limit or narrow --since)\n`);
  return Exit.ok;
}
