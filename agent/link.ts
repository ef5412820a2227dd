// The one WebSocket to the coordinator (ws://server:port/agent). Reconnects forever with exponential
// backoff (0.25 s doubling to 30 s, randomised), reset once the coordinator has welcomed the agent.
// Messages are JSON (shared/protocol.ts); compression is off because most traffic is job output.

import WebSocket from "ws";
import { AGENT_PATH, type AgentMessage, type CoordinatorMessage } from "../shared/protocol.js";
import type { Logger } from "./log.js";
import { ConnectFailures } from "./connect-failures.js";

export interface LinkHandlers {
  /** The socket is open: say hello. */
  opened(localAddress: string): void;
  message(message: CoordinatorMessage): void;
  /** The socket closed (or never opened); a reconnect is already scheduled. */
  closed(): void;
}

const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 30_000;
/** Above this many buffered bytes, send() makes the caller wait for the socket. */
const HIGH_WATER_BYTES = 4 * 1024 * 1024;
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export class CoordinatorLink {
  private socket: WebSocket | null = null;
  private attempts = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly failures = new ConnectFailures();

  constructor(
    readonly url: string,
    private readonly handlers: LinkHandlers,
    private readonly log: Logger,
    /** PEM of the CA(s) trusted for a wss:// coordinator; undefined = the system's. */
    private readonly ca?: string,
  ) {}

  start(): void {
    this.stopped = false;
    this.connect();
  }

  isOpen(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  /** Sends one message; resolves at once, or once the socket has room when much is already buffered. */
  send(message: AgentMessage | string): Promise<void> {
    const socket = this.socket;
    if (socket === null || socket.readyState !== WebSocket.OPEN) return Promise.resolve();
    const text = typeof message === "string" ? message : JSON.stringify(message);
    if (socket.bufferedAmount < HIGH_WATER_BYTES) {
      socket.send(text);
      return Promise.resolve();
    }
    return new Promise((resolve) => socket.send(text, () => resolve()));
  }

  /** The handshake succeeded: the next outage starts again from a short delay. */
  welcomed(): void {
    this.attempts = 0;
    const failed = this.failures.clear();
    if (failed > 0) this.log.info(`welcomed by ${this.url} after ${failed} failed connect(s)`);
  }

  /** Skips the wait of a pending reconnect (wakeup()). */
  reconnectNow(): void {
    if (this.timer === null || this.stopped) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.connect();
  }

  /** Drops the connection (e.g. after `refused`); a reconnect follows. */
  drop(): void {
    this.socket?.terminate();
  }

  /** Closes for good, after the socket has sent what it holds. */
  async close(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const socket = this.socket;
    if (socket === null || socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      socket.once("close", () => resolve());
      socket.close(1000, "agent exiting");
      setTimeout(() => {
        socket.terminate();
        resolve();
      }, 2000).unref();
    });
  }

  private connect(): void {
    if (this.stopped) return;
    const socket = new WebSocket(this.url, {
      perMessageDeflate: false,
      maxPayload: MAX_MESSAGE_BYTES,
      handshakeTimeout: 10_000,
      ...(this.ca === undefined ? {} : { ca: this.ca }),
      // Masking guards browsers against proxy cache poisoning; an agent is no browser, and an all-zero mask
      // lets ws skip XOR-ing every byte of the job output it sends.
      generateMask: (mask) => mask.fill(0),
    });
    this.socket = socket;
    // The address this machine reaches the coordinator from is the `ip` worth reporting.
    let localAddress = "";
    socket.once("upgrade", (response) => {
      localAddress = (response.socket.localAddress ?? "").replace(/^::ffff:/, "");
    });
    socket.on("open", () => {
      this.log.info(`connected to ${this.url}`);
      this.handlers.opened(localAddress);
    });
    socket.on("message", (data, isBinary) => {
      if (isBinary) return;
      let message: CoordinatorMessage;
      try {
        message = JSON.parse(data.toString()) as CoordinatorMessage;
      } catch {
        this.log.warn("ignored a message from the coordinator that is not JSON");
        return;
      }
      this.handlers.message(message);
    });
    let opened = false;
    let failure = "closed before the handshake";
    socket.once("open", () => (opened = true));
    socket.on("error", (err) => {
      failure = err.message;
      // A link that was up and broke is worth a line; a connect that never opened is logged with its delay.
      if (opened) this.log.warn(`link to ${this.url}: ${err.message}`);
    });
    socket.on("close", () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.handlers.closed();
      const delay = this.scheduleReconnect();
      if (opened || delay === null) return;
      const line = this.failures.failed(this.url, failure, delay, Date.now());
      if (line !== null) this.log.warn(line);
    });
  }

  /** Schedules the next connect; returns its delay (ms), or null when stopped. */
  private scheduleReconnect(): number | null {
    if (this.stopped) return null;
    const ceiling = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** this.attempts);
    this.attempts++;
    // Half fixed, half random: quick enough, and a farm does not reconnect in one burst.
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, delay);
    return delay;
  }
}

export function linkUrl(server: string, port: number, tls = false): string {
  const host = server.includes(":") && !server.startsWith("[") ? `[${server}]` : server;
  return `${tls ? "wss" : "ws"}://${host}:${port}${AGENT_PATH}`;
}
