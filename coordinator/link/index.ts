// The agent link: main.ts calls attachAgentLink(server, ctx, dispatcher) once the HTTP server exists; the
// link handles WebSocket upgrades on AGENT_PATH ("/agent") and tells the scheduler's dispatcher about the
// agents connected here; deliver() sends a job's `assign`; close() stops it. (Implementation: ./link.ts.)
import type { Server } from "node:http";
import type { AuditEntry } from "../audit/entry.js";
import type { Services } from "../services.js";
import type { JobRecord } from "../store/jobs.js";
import type { Dispatcher } from "../scheduler/dispatch.js";
import { Link, type PreHelloLimits } from "./link.js";

export interface AgentLink {
  deliver(job: JobRecord): void;
  close(): Promise<void>;
}

export function attachAgentLink(
  server: Server,
  services: Services,
  dispatcher: Dispatcher,
  limits: PreHelloLimits,
  audit: (entry: AuditEntry) => void,
): AgentLink {
  const link = new Link(services, server, dispatcher, limits, audit);
  return { deliver: (job) => link.deliver(job), close: () => link.close() };
}
