// The bounded error logs behind getServerErrors / getClientErrors: newest first in one capped Redis LIST
// each ({p}errors:server, {p}errors:client:{id}), so a storm of failures costs a fixed amount of memory.
// Recording a server error must never make things worse: it never throws.

import type { Redis } from "ioredis";
import { redactUrls } from "../../shared/redact.js";
import type { Context, ErrorRecord } from "../context.js";
import type { Keys } from "./keys.js";

export const MAX_SERVER_ERRORS = 1000;
const MAX_FIELD_CHARS = 8192;

export function errorRecorder(redis: Redis, keys: Keys, cap = MAX_SERVER_ERRORS) {
  return async function recordError(error: ErrorRecord): Promise<void> {
    try {
      const record: ErrorRecord = {
        message: clip(String(error.message)),
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
      console.error(`openhq-coordinator: could not record error (${(err as Error).message}):`, error.message);
    }
  };
}

/** Cut to MAX_FIELD_CHARS, with any URL's password masked (getServerErrors is open to read-only users). */
function clip(text: string): string {
  text = redactUrls(text);
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
