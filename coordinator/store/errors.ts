// The bounded error logs behind getServerErrors / getClientErrors: newest first in one capped Redis LIST
// each ({p}errors:server, {p}errors:client:{id}), so a storm of failures costs a fixed amount of memory.
// Recording a server error must never make things worse: it never throws. Every field is one line (control
// characters escaped). Records caused from outside name their `source`: each source may add SOURCE_BURST
// records, then one per SOURCE_EVERY_MS, and all sources together ALL_SOURCES_BURST, then one a second, so
// a flood of refused hellos can neither wipe the list nor hide the other sources; what was dropped is
// counted in the source's next record.

import type { Redis } from "ioredis";
import { oneLine } from "../../shared/log-line.js";
import { RateBuckets } from "../../shared/rate-buckets.js";
import { redactUrls } from "../../shared/redact.js";
import type { XmlRpcStruct } from "../../shared/xmlrpc/types.js";
import type { Context, ErrorRecord } from "../context.js";
import type { Keys } from "./keys.js";

export const MAX_SERVER_ERRORS = 1000;
const MAX_FIELD_CHARS = 8192;
const SOURCE_BURST = 10;
const SOURCE_EVERY_MS = 30_000;
const ALL_SOURCES_BURST = 100;

/** Which records from outside may be kept, and how many were dropped per source since its last kept one. */
export class SourceLimiter {
  private readonly perSource = new RateBuckets(1000 / SOURCE_EVERY_MS, SOURCE_BURST);
  private readonly allSources = new RateBuckets(1, ALL_SOURCES_BURST);
  private readonly dropped = new Map<string, number>();

  /** null: drop this record; else how many of this source's were dropped before it. */
  admit(source: string, now = Date.now()): number | null {
    if (this.perSource.take(source, now) && this.allSources.take("", now)) {
      const before = this.dropped.get(source) ?? 0;
      this.dropped.delete(source);
      return before;
    }
    if (this.dropped.size >= 10_000) this.dropped.clear();
    this.dropped.set(source, (this.dropped.get(source) ?? 0) + 1);
    return null;
  }
}

export function errorRecorder(redis: Redis, keys: Keys, cap = MAX_SERVER_ERRORS) {
  const limiter = new SourceLimiter();
  return async function recordError(error: ErrorRecord): Promise<void> {
    try {
      let message = String(error.message);
      if (error.source !== undefined) {
        const dropped = limiter.admit(error.source);
        if (dropped === null) return;
        if (dropped > 0) message += ` (and ${dropped} more like it from ${error.source}, not recorded)`;
      }
      const record: ErrorRecord = {
        message: clip(message),
        time: Number.isFinite(error.time) ? error.time : Date.now(),
        ...(error.method === undefined ? {} : { method: clip(error.method) }),
        ...(error.stack === undefined ? {} : { stack: clip(error.stack) }),
      };
      await redis
        .multi()
        .lpush(keys.serverErrors, JSON.stringify(record))
        .ltrim(keys.serverErrors, 0, cap - 1)
        .exec();
    } catch (err) {
      // Redis is down or the record is unserialisable: the console is the log of last resort.
      console.error(
        `openhq-coordinator: could not record error (${oneLine((err as Error).message)}):`,
        oneLine(String(error.message)),
      );
    }
  };
}

/**
 * One line cut to MAX_FIELD_CHARS, with any URL's password masked (getServerErrors is open to read-only
 * users). A stack's lines are kept apart by escaped newlines, as any message's.
 */
function clip(text: string): string {
  text = oneLine(redactUrls(text));
  return text.length > MAX_FIELD_CHARS ? text.slice(0, MAX_FIELD_CHARS) + "…" : text;
}

/** The server error log's entries (JSON text), newest first. */
export function serverErrors(ctx: Context): Promise<string[]> {
  return ctx.redis.lrange(ctx.keys.serverErrors, 0, -1);
}

/** A client's error log entries (JSON text, as the agent reported them), newest first. */
export function clientErrors(ctx: Context, clientId: number): Promise<string[]> {
  return ctx.redis.lrange(ctx.keys.clientErrors(clientId), 0, -1);
}

/**
 * A bounded error log as getServerErrors and getClientErrors show it: {total, errors}, newest first, or {}
 * when there are none; each error's `time` as a Date.
 */
export function errorLogView(entries: string[]): XmlRpcStruct {
  if (entries.length === 0) return {};
  return { total: entries.length, errors: entries.map(toStruct) };
}

function toStruct(entry: string): XmlRpcStruct {
  let record: unknown;
  try {
    record = JSON.parse(entry);
  } catch {
    return { message: entry };
  }
  if (record === null || typeof record !== "object" || Array.isArray(record))
    return { message: String(entry) };
  const out: XmlRpcStruct = {};
  for (const [key, value] of Object.entries(record as Record<string, unknown>)) {
    if (key === "time" && typeof value === "number") out[key] = new Date(value);
    else if (typeof value === "string" || typeof value === "number" || typeof value === "boolean")
      out[key] = value;
    else if (value !== null && value !== undefined) out[key] = JSON.stringify(value);
  }
  return out;
}
