// The pub/sub channels (store/keys.ts). {p}events: the job transitions publish a JSON notice for each change
// (lua/includes/setStatus.lua, releaseClients.lua). {p}control:{clientId}: messages for the coordinator that
// holds that agent's link (store/clients.ts sendControl). A subscriber needs a connection of its own.

import type { Redis } from "ioredis";
import type { Context } from "../context.js";

/** A notice as published: a JSON object (its fields depend on its `type`). */
export type Notice = Record<string, unknown>;

/** What a listener of the feed is told: each notice (and its channel), and every (re)connect. */
export interface FeedListener {
  /** The notice as parsed once for every listener: a listener must not change it. */
  message(notice: Readonly<Notice>, channel: string): void;
  /** The subscription was (re)made: notices may have been missed before it. */
  ready(): void;
}

/**
 * {p}events for the whole process, on one connection: the scheduler and the event stream both listen, so
 * Redis writes each notice to this process once and it is read once. A listener may ask for channels of its
 * own as well (the stream's {p}events:viewers), held while it listens; their notices go to it alone, in the
 * order Redis published them among {p}events' (one connection). The connection is made for the first
 * listener and closed with the last.
 */
export class EventFeed {
  private connection: Redis | null = null;
  /** Resolves once Redis confirmed {p}events. */
  private subscribed: Promise<void> = Promise.resolve();
  private readonly listeners = new Map<FeedListener, string[]>();
  /** Listeners per channel of their own. */
  private readonly held = new Map<string, number>();

  constructor(private readonly ctx: Context) {}

  /**
   * Adds a listener, also of `own` channels. `subscribed` resolves once every channel it hears is
   * confirmed by Redis: from then on, what is published reaches it. `close` removes it.
   */
  listen(listener: FeedListener, own: string[] = []): { subscribed: Promise<void>; close(): void } {
    const connection = this.connection ?? this.connect();
    this.listeners.set(listener, own);
    const fresh = own.filter((channel) => {
      const n = this.held.get(channel) ?? 0;
      this.held.set(channel, n + 1);
      return n === 0;
    });
    const subscribed =
      fresh.length === 0
        ? this.subscribed
        : Promise.all([this.subscribed, connection.subscribe(...fresh)]).then(
            () => {},
            () => {},
          );
    return { subscribed, close: () => this.leave(listener) };
  }

  private connect(): Redis {
    const sub = this.ctx.redis.duplicate();
    sub.on("error", () => {}); // ioredis reconnects and re-subscribes by itself
    const events = this.ctx.keys.eventsChannel;
    sub.on("message", (channel: string, text: string) => {
      const notice = parseNotice(text);
      if (notice === null) return;
      for (const [listener, own] of this.listeners)
        if (channel === events || own.includes(channel)) listener.message(notice, channel);
    });
    sub.on("ready", () => {
      for (const listener of this.listeners.keys()) listener.ready();
    });
    this.subscribed = sub.subscribe(events).then(
      () => {},
      () => {},
    );
    this.connection = sub;
    return sub;
  }

  private leave(listener: FeedListener): void {
    const own = this.listeners.get(listener);
    if (own === undefined) return;
    this.listeners.delete(listener);
    const idle = own.filter((channel) => {
      const n = (this.held.get(channel) ?? 1) - 1;
      if (n > 0) this.held.set(channel, n);
      else this.held.delete(channel);
      return n <= 0;
    });
    if (this.listeners.size === 0) {
      this.connection?.disconnect();
      this.connection = null;
    } else if (idle.length > 0) void this.connection?.unsubscribe(...idle).catch(() => {});
  }
}

/** A notice's text as an object, or null when it is not one (parsed once per notice, not per listener). */
function parseNotice(text: string): Notice | null {
  try {
    const notice: unknown = JSON.parse(text);
    return typeof notice === "object" && notice !== null && !Array.isArray(notice) ? (notice as Notice) : null;
  } catch {
    return null;
  }
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
