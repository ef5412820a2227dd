// A small TCP proxy the chaos harness (and its tests) put between agents and a coordinator, so the link can
// be cut (every connection reset, new ones refused) or slowed (each chunk held for a delay) at will, and
// agents keep one server URL while the coordinator behind it is started again on another port (retarget).
// Bytes are never reordered, as on a real TCP path.

import { connect, createServer, type AddressInfo, type Socket } from "node:net";

export interface ChaosProxy {
  /** http://127.0.0.1:<port>: give this to agents as their server. */
  url: string;
  port: number;
  /** Resets every connection and refuses new ones for `ms`. */
  cut(ms: number): void;
  /** Holds each chunk in both directions for `ms` (0 = none). */
  delay(ms: number): void;
  /** Sends new connections to `port` on the target host (open ones stay where they are). */
  retarget(port: number): void;
  close(): Promise<void>;
}

export async function startProxy(targetPort: number, targetHost = "127.0.0.1"): Promise<ChaosProxy> {
  const sockets = new Set<Socket>();
  let port = targetPort;
  let cutUntil = 0;
  let delayMs = 0;
  const forward = (from: Socket, to: Socket) => {
    // One FIFO per direction: a chunk waits behind every earlier one, so changing the delay never lets a
    // chunk overtake another (timers of different durations do not fire in the order they were set).
    const queue: { at: number; chunk: Buffer }[] = [];
    let timer: NodeJS.Timeout | null = null;
    const flush = () => {
      timer = null;
      while (queue.length > 0 && (queue[0] as { at: number }).at <= Date.now()) {
        const { chunk } = queue.shift() as { chunk: Buffer };
        if (!to.destroyed) to.write(chunk);
      }
      if (queue.length > 0)
        timer = setTimeout(flush, Math.max(1, (queue[0] as { at: number }).at - Date.now()));
    };
    from.on("data", (chunk: Buffer) => {
      if (delayMs === 0 && queue.length === 0) {
        if (!to.write(chunk)) from.pause();
        return;
      }
      queue.push({ at: Date.now() + delayMs, chunk });
      timer ??= setTimeout(flush, delayMs);
    });
    to.on("drain", () => from.resume());
  };
  const server = createServer((client) => {
    if (Date.now() < cutUntil) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(port, targetHost);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const ownPort = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${ownPort}`,
    port: ownPort,
    cut(ms: number) {
      cutUntil = Date.now() + ms;
      for (const s of sockets) s.resetAndDestroy();
    },
    delay(ms: number) {
      delayMs = ms;
    },
    retarget(to: number) {
      port = to;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
