// The client XML-RPC API on port 5001, as HQueue's reference describes it: `wakeup()` forces a heartbeat,
// `terminate()` starts a graceful exit. Both return None.

import type { Server } from "node:http";
import { createXmlRpcServer } from "../shared/xmlrpc/server.js";
import type { Logger } from "./log.js";

export interface ApiHandlers {
  wakeup(): void;
  terminate(): void;
}

export async function startApi(
  port: number,
  host: string,
  handlers: ApiHandlers,
  log: Logger,
): Promise<Server> {
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
