// Bounds on the sockets one listening port holds: a total (server.maxConnections, whose sockets Node closes
// as soon as it accepts them) and a number per caller address, so no caller can use up the process's file
// handles, nor keep every slot busy for callers from other addresses (slowloris). Caps are counted when a
// connection is accepted: nothing is done per request.

import type { Server } from "node:net";
import type { Socket } from "node:net";

export interface ConnectionLimits {
  /** Most sockets open at once on the port. */
  total: number;
  /** Most sockets open at once from one address. */
  perAddress: number;
}

/** How often, at most, `onRefused` reports the connections refused since its last report. */
const REPORT_EVERY_MS = 60_000;

export class ConnectionGate {
  private readonly open = new Map<string, number>();
  /** Sockets counted against their address (a released one is no longer). */
  private readonly counted = new WeakMap<Socket, string>();
  private refused = 0;
  private reportedAt = 0;

  constructor(
    server: Server,
    private readonly limits: ConnectionLimits,
    private readonly onRefused: (count: number) => void = () => {},
  ) {
    server.maxConnections = limits.total;
    server.on("drop", () => this.refuse());
    // First, so a refused socket is closed before the HTTP (or TLS) layer sets anything up for it.
    server.prependListener("connection", (socket: Socket) => this.admit(socket));
  }

  /** Sockets open from an address (the tests' and metrics' view). */
  openFrom(address: string): number {
    return this.open.get(address) ?? 0;
  }

  /**
   * Stops counting a socket against its address: it has proved who it is (an agent after its `hello`), and
   * many such may share an address (agents behind one NAT). The total still counts it.
   */
  release(socket: Socket): void {
    const address = this.counted.get(socket);
    if (address === undefined) return;
    this.counted.delete(socket);
    const left = (this.open.get(address) ?? 1) - 1;
    if (left > 0) this.open.set(address, left);
    else this.open.delete(address);
  }

  private admit(socket: Socket): void {
    const address = socket.remoteAddress ?? "";
    const count = this.open.get(address) ?? 0;
    if (count >= this.limits.perAddress) {
      socket.destroy();
      this.refuse();
      return;
    }
    this.open.set(address, count + 1);
    this.counted.set(socket, address);
    socket.once("close", () => this.release(socket));
  }

  private refuse(): void {
    this.refused++;
    const now = Date.now();
    if (now - this.reportedAt < REPORT_EVERY_MS) return;
    this.reportedAt = now;
    this.onRefused(this.refused);
    this.refused = 0;
  }
}
