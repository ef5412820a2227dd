// Placeholder: the agent link (owned by the scheduler helper) replaces this file.
// Contract: main.ts calls attachAgentLink(server, ctx) once the HTTP server exists; the link handles
// WebSocket upgrades on AGENT_PATH ("/agent") and starts the scheduler; close() stops both.
import type { Server } from "node:http";
import type { Context } from "../context.js";

export interface AgentLink {
  close(): Promise<void>;
}

export function attachAgentLink(_server: Server, _ctx: Context): AgentLink {
  return { close: async () => {} };
}
