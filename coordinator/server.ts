// The coordinator's one HTTP port (5000): XML-RPC on POST (any path: Python posts to /RPC2, others to /),
// the dashboard on GET/HEAD, the agents' WebSocket on upgrade (the agent link adds its own 'upgrade'
// listener). Connections are kept alive so scripts polling in a loop reuse one socket.

import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { AGENT_PATH } from "../shared/protocol.js";
import {
  closeUnusedConnections,
  createKeepAliveServer,
  type RequestTimeouts,
} from "../shared/xmlrpc/server.js";
import { fromBrowser, sameOrigin, type HostList } from "./hosts.js";

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Sent with every answer to a browser (any GET, a POST with browser marks). The dashboard loads its
 * scripts and styles from this origin only; htmx's `[autoRefresh()]` trigger filters need 'unsafe-eval';
 * the pages use style attributes. No page may frame it.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "x-frame-options": "DENY",
  "content-security-policy":
    "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
};

const HEADER_ENTRIES = Object.entries(SECURITY_HEADERS);

export function createCoordinatorServer(
  handlers: { rpc: RequestHandler; web: RequestHandler },
  hosts: HostList,
  tls: { cert: Buffer; key: Buffer } | undefined,
  timeouts: RequestTimeouts,
): Server {
  return createKeepAliveServer(
    (req, res) => {
      // XML-RPC from scripts is answered whatever Host they use (studios reach the farm by DNS aliases, as
      // HQueue allows), and without the page headers, which no script reads (they cost more than a ping's
      // own work); browsers, which DNS rebinding drives, and every GET keep the Host allowlist.
      const browser = req.method !== "POST" || fromBrowser(req);
      if (browser) for (const [name, value] of HEADER_ENTRIES) res.setHeader(name, value);
      if (browser && !hosts.allows(req.headers.host)) {
        // Nothing of the body is read: a rebound page gets nothing but this.
        res
          .writeHead(403, { "content-type": "text/plain", connection: "close" })
          .end("unknown Host name: add it to openhq.allowedHosts\n");
        return;
      }
      if (req.method === "POST") handlers.rpc(req, res);
      else if (req.method === "GET" || req.method === "HEAD") handlers.web(req, res);
      else {
        req.resume();
        res
          .writeHead(405, { allow: "GET, HEAD, POST", "content-type": "text/plain" })
          .end("method not allowed\n");
      }
    },
    tls,
    timeouts,
  );
}

/** WebSocket paths served: the agent link and the live output of a job. */
const OUTPUT_PATH = /^\/ws\/output\/\d+$/;

export interface UpgradeGuard {
  /** Destroys every upgraded socket still open (shutdown must not wait on any). */
  destroyAll(): void;
}

/**
 * Runs before the link's and the dashboard's 'upgrade' listeners: answers and destroys what neither may
 * take (an unknown Host, an unknown path with 404, a browser on /agent, a foreign page on /ws/*), so no
 * upgrade request is left unanswered. Those listeners skip destroyed sockets.
 */
export function guardUpgrades(server: Server, hosts: HostList): UpgradeGuard {
  const open = new Set<Duplex>();
  server.prependListener("upgrade", (req: IncomingMessage, socket: Duplex) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const refuse = (status: string) => {
      socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      socket.destroy();
    };
    // A browser's WebSocket handshake always carries Origin: agents reach the farm by any name.
    if (fromBrowser(req) && !hosts.allows(req.headers.host)) return refuse("403 Forbidden");
    if (path === AGENT_PATH) {
      // Agents are no browsers; any Origin means a web page is trying to join the farm.
      if (req.headers.origin !== undefined) return refuse("403 Forbidden");
    } else if (OUTPUT_PATH.test(path)) {
      if (!sameOrigin(req)) return refuse("403 Forbidden");
    } else return refuse("404 Not Found");
    open.add(socket);
    socket.once("close", () => open.delete(socket));
  });
  return {
    destroyAll: () => {
      for (const socket of open) socket.destroy();
      open.clear();
    },
  };
}

export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const address = server.address();
      resolve(address !== null && typeof address === "object" ? address.port : port);
    });
  });
}

/**
 * Stops accepting, lets requests in flight finish (up to `graceMs`), then cuts what is left. A connection
 * with no request in flight is closed at once: one idle between requests, one that never sent a request
 * (closeUnusedConnections), and one whose request ends during the grace (an event stream the shutdown ends
 * just before), which server.close() alone would keep alive, and the shutdown waiting, to the grace's end.
 */
export function closeServer(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    const closeQuiet = () => {
      server.closeIdleConnections();
      closeUnusedConnections(server);
    };
    const sweep = setInterval(closeQuiet, CLOSE_SWEEP_MS);
    server.close(() => {
      clearTimeout(timer);
      clearInterval(sweep);
      resolve();
    });
    closeQuiet();
  });
}

/** How often a closing server looks for connections whose request has ended since. */
const CLOSE_SWEEP_MS = 50;
