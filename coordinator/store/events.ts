// The {p}events channel (store/keys.ts): the job transitions publish a JSON notice for each change
// (lua/includes/setStatus.lua, releaseClients.lua). A subscriber needs a connection of its own.

import type { Redis } from "ioredis";
import type { Context } from "../context.js";

/**
 * Subscribes a new connection to {p}events: `message` gets each notice's text, `ready` runs on every
 * (re)connect, when notices may have been missed. Returns the connection, to disconnect when done.
 */
export function subscribeEvents(
  ctx: Context,
  handlers: { message(text: string): void; ready(): void },
): Redis {
  const sub = ctx.redis.duplicate();
  sub.on("error", () => {}); // ioredis reconnects and re-subscribes by itself
  sub.on("message", (_channel: string, message: string) => handlers.message(message));
  sub.on("ready", () => handlers.ready());
  void sub.subscribe(ctx.keys.eventsChannel).catch(() => {});
  return sub;
}
