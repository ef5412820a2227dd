// Loopback ports for the processes openhq starts (the private redis-server) and the tests start (agents,
// coordinators, Redis): a free one, and waiting until something listens on one.

import { connect, createServer } from "node:net";

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        address !== null && typeof address === "object"
          ? resolve(address.port)
          : reject(new Error("no port")),
      );
    });
  });
}

/** Resolves once 127.0.0.1:port accepts a connection. Rejects after timeoutMs, or when `alive` throws. */
export async function waitForPort(port: number, timeoutMs: number, alive?: () => void): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    alive?.();
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
