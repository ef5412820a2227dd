// The coordinator's one HTTP port (5000): XML-RPC on POST (any path: Python posts to /RPC2, others to /),
// the dashboard on GET/HEAD, the agents' WebSocket on upgrade (the agent link adds its own 'upgrade'
// listener). Connections are kept alive so scripts polling in a loop reuse one socket.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Longer than the usual 60 s idle timeout of load balancers, so the balancer closes first. */
const KEEP_ALIVE_MS = 65_000;

export function createCoordinatorServer(handlers: { rpc: RequestHandler; web: RequestHandler }): Server {
  const server = createServer({ keepAlive: true, requestTimeout: 300_000 }, (req, res) => {
    if (req.method === "POST") handlers.rpc(req, res);
    else if (req.method === "GET" || req.method === "HEAD") handlers.web(req, res);
    else {
      req.resume();
      res
        .writeHead(405, { allow: "GET, HEAD, POST", "content-type": "text/plain" })
        .end("method not allowed\n");
    }
  });
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  server.headersTimeout = KEEP_ALIVE_MS + 1000;
  // Malformed HTTP must cost the sender its connection and nothing else.
  server.on("clientError", (_err, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n");
    else socket.destroy();
  });
  return server;
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
