// Placeholder: the dashboard (owned by the operations helper) replaces this file.
// Contract: main.ts routes every GET/HEAD request to the handler this returns (XML-RPC stays on POST).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Context } from "../context.js";

export type WebHandler = (req: IncomingMessage, res: ServerResponse) => void;

export function webHandler(_ctx: Context): WebHandler {
  return (_req, res) => {
    res.writeHead(404, { "content-type": "text/plain" }).end("no dashboard yet\n");
  };
}
