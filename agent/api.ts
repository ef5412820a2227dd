// The client XML-RPC API on port 5001, as HQueue's reference describes it: `wakeup()` forces a heartbeat,
// `terminate()` starts a graceful exit. Both return None.

import type { IncomingMessage, Server } from "node:http";
import { basicCredentials, matchesDigest, sha256 } from "../shared/basic-auth.js";
import { createXmlRpcServer } from "../shared/xmlrpc/server.js";
import { Fault, FaultCode } from "../shared/xmlrpc/types.js";
import type { Logger } from "./log.js";

export interface ApiHandlers {
  wakeup(): void;
  terminate(): void;
}

/**
 * With a farm token set (hqnode.ini `token`, the one sent in hello), callers must send it as the Basic auth
 * password (any user name): Python's ServerProxy("http://hq:TOKEN@node:5001"), `openhq wakeup --agent-token`.
 */
function tokenCheck(token: string | null): ((req: IncomingMessage) => true | Fault) | undefined {
  if (token === null) return undefined;
  const digest = sha256(token);
  return (req) => {
    const credentials = basicCredentials(req.headers.authorization);
    if (credentials !== null && credentials !== "malformed" && matchesDigest(credentials.password, digest)) {
      return true;
    }
    return new Fault(FaultCode.unauthorized, "this agent requires the farm token (Basic auth password)");
  };
}

export async function startApi(
  port: number,
  host: string,
  token: string | null,
  handlers: ApiHandlers,
  log: Logger,
): Promise<Server> {
  const authorize = tokenCheck(token);
  const server = createXmlRpcServer(
    {
      wakeup: () => {
        handlers.wakeup();
        return null;
      },
      terminate: () => {
        log.info("terminate() called: finishing running jobs, then exiting");
        handlers.terminate();
        return null;
      },
    },
    {
      maxBodyBytes: 1024 * 1024,
      ...(authorize ? { authorize } : {}),
      onError: (err, method) => log.error(`xml-rpc ${method ?? "?"}: ${err.message}`),
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return server;
}

/** Stops listening; lets in-flight answers (terminate's own) go out first. */
export async function stopApi(server: Server): Promise<void> {
  await new Promise((r) => setTimeout(r, 100));
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
