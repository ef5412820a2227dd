// The coordinator's one HTTP port (5000): XML-RPC on POST (any path: Python posts to /RPC2, others to /),
// the dashboard on GET/HEAD, the agents' WebSocket on upgrade (the agent link adds its own 'upgrade'
// listener). Connections are kept alive so scripts polling in a loop reuse one socket.

import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { createKeepAliveServer } from "../shared/xmlrpc/server.js";

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

export function createCoordinatorServer(handlers: { rpc: RequestHandler; web: RequestHandler }): Server {
  return createKeepAliveServer((req, res) => {
    if (req.method === "POST") handlers.rpc(req, res);
    else if (req.method === "GET" || req.method === "HEAD") handlers.web(req, res);
    else {
      req.resume();
      res
        .writeHead(405, { allow: "GET, HEAD, POST", "content-type": "text/plain" })
        .end("method not allowed\n");
    }
  });
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

/** Stops accepting, lets requests in flight finish (up to `graceMs`), then cuts what is left. */
export function closeServer(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}
