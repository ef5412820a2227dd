// The audit log's Redis side: one capped stream ({p}audit, XADD MAXLEN ~), each entry one field "e" holding
// the record's JSON (coordinator/audit/entry.ts). Stream ids are times, so "since" is a range start and a
// read costs the entries it looks at, never the whole stream: a filtered read looks at MAX_SCANNED at most.

import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";

/** Entries the stream keeps (about: MAXLEN ~ trims whole nodes). */
export const AUDIT_STREAM_ENTRIES = 100_000;
/** Most entries one read returns. */
export const MAX_AUDIT_READ = 1000;
/** Most entries one filtered read looks at before it answers with what it found. */
const MAX_SCANNED = 20_000;
const PAGE = 500;

export interface AuditRedis {
  redis: Redis;
  keys: Keys;
}

/** Appends a record's JSON; resolves when Redis has it. */
export async function appendAudit(ctx: AuditRedis, json: string): Promise<void> {
  await ctx.redis.xadd(ctx.keys.audit, "MAXLEN", "~", AUDIT_STREAM_ENTRIES, "*", "e", json);
}

export interface AuditQuery {
  /** ms since epoch: entries at or after. */
  since?: number;
  /** ms since epoch: entries before. */
  until?: number;
  /** A stream id from an earlier read: entries older than it (the next page). */
  before?: string;
  user?: string;
  method?: string;
  /** Entries of this job, client … id (the record's `ids`). */
  id?: number;
  limit: number;
}

export interface StoredAudit {
  /** The stream id (a cursor: pass it as `until` to read on). */
  id: string;
  record: Record<string, unknown>;
}

function matches(record: Record<string, unknown>, query: AuditQuery): boolean {
  if (query.user !== undefined && record["user"] !== query.user) return false;
  if (query.method !== undefined && record["method"] !== query.method) return false;
  if (query.id !== undefined && !(Array.isArray(record["ids"]) && record["ids"].includes(query.id)))
    return false;
  return true;
}

/** Newest first, up to `query.limit` (≤ MAX_AUDIT_READ) entries; `truncated`: the scan bound ended it first. */
export async function readAudit(
  ctx: AuditRedis,
  query: AuditQuery,
): Promise<{ entries: StoredAudit[]; truncated: boolean }> {
  const limit = Math.min(Math.max(1, query.limit), MAX_AUDIT_READ);
  const start = query.since === undefined ? "-" : String(Math.floor(query.since));
  let end =
    query.before !== undefined
      ? `(${query.before}`
      : query.until === undefined
        ? "+"
        : String(Math.max(0, Math.floor(query.until) - 1));
  const entries: StoredAudit[] = [];
  let scanned = 0;
  while (entries.length < limit && scanned < MAX_SCANNED) {
    const page = await ctx.redis.xrevrange(ctx.keys.audit, end, start, "COUNT", PAGE);
    for (const [id, fields] of page) {
      const record = parseRecord(fields);
      if (record !== null && matches(record, query)) entries.push({ id, record });
      if (entries.length >= limit) break;
    }
    scanned += page.length;
    const last = page[page.length - 1];
    if (page.length < PAGE || last === undefined) return { entries, truncated: false };
    end = `(${last[0]}`;
  }
  return { entries, truncated: entries.length < limit };
}

/** A page of readAudit as getAuditLog answers it: each record with its cursor, and the next page's cursor ("" for none). */
export async function readAuditPage(
  ctx: AuditRedis,
  query: AuditQuery,
): Promise<{ entries: ({ cursor: string } & Record<string, unknown>)[]; next: string }> {
  const { entries, truncated } = await readAudit(ctx, query);
  const last = entries[entries.length - 1];
  const more = truncated || entries.length === query.limit;
  return {
    entries: entries.map(({ id: cursor, record }) => ({ cursor, ...record })),
    next: more && last !== undefined ? last.id : "",
  };
}

function parseRecord(fields: string[]): Record<string, unknown> | null {
  const at = fields.indexOf("e");
  if (at < 0 || at + 1 >= fields.length) return null;
  try {
    const value: unknown = JSON.parse(fields[at + 1] as string);
    return value !== null && typeof value === "object" && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}
