// The agent link: main.ts calls attachAgentLink(server, ctx) once the HTTP server exists; the link handles
// WebSocket upgrades on AGENT_PATH ("/agent") and runs the scheduler for the agents connected here;
// close() stops both. (Implementation: ./link.ts.)
import type { Server } from "node:http";
import type { Context } from "../context.js";
import { Link } from "./link.js";

export interface AgentLink {
  close(): Promise<void>;
}

export function attachAgentLink(server: Server, ctx: Context): AgentLink {
  const link = new Link(ctx, server);
  return { close: () => link.close() };
}
