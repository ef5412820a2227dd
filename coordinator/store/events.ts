// The pub/sub channels (store/keys.ts). {p}events: the job transitions publish a JSON notice for each change
// (lua/includes/setStatus.lua, releaseClients.lua). {p}control:{clientId}: messages for the coordinator that
// holds that agent's link (store/clients.ts sendControl). A subscriber needs a connection of its own.

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
  return subscribeEventsConfirmed(ctx, handlers).connection;
}

/**
 * As subscribeEvents, to {p}events and the `also` channels (one connection: their notices arrive in the order
 * Redis published them), with a promise that resolves once Redis confirmed the first subscription.
 */
export function subscribeEventsConfirmed(
  ctx: Context,
  handlers: { message(text: string): void; ready(): void },
  also: string[] = [],
): { connection: Redis; subscribed: Promise<void> } {
  const sub = ctx.redis.duplicate();
  sub.on("error", () => {}); // ioredis reconnects and re-subscribes by itself
  sub.on("message", (_channel: string, message: string) => handlers.message(message));
  sub.on("ready", () => handlers.ready());
  const subscribed = sub.subscribe(ctx.keys.eventsChannel, ...also).then(
    () => {},
    () => {},
  );
  return { connection: sub, subscribed };
}

/** The control channels of the agents linked to this coordinator, on a connection of their own. */
export class ControlSubscription {
  private readonly sub: Redis;

  /** `message` gets the client id of the channel and the message's text. */
  constructor(
    private readonly ctx: Context,
    message: (clientId: number, text: string) => void,
  ) {
    const channelPrefix = ctx.keys.controlChannel("");
    this.sub = ctx.redis.duplicate();
    this.sub.on("error", () => {}); // ioredis reconnects and re-subscribes by itself
    this.sub.on("message", (channel: string, text: string) =>
      message(Number(channel.slice(channelPrefix.length)), text),
    );
  }

  async add(clientId: number): Promise<void> {
    await this.sub.subscribe(this.ctx.keys.controlChannel(clientId));
  }

  async remove(clientId: number): Promise<void> {
    await this.sub.unsubscribe(this.ctx.keys.controlChannel(clientId));
  }

  close(): void {
    this.sub.disconnect();
  }
}
