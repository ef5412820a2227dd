// The farms most end-to-end tests need: a coordinator on a private redis-server and an HQServer client on it
// (agentlessFarm), with one real agent (2 CPUs) beside them (oneAgentFarm), each stopped when the test ends.

import type { TestContext } from "node:test";
import { HQServer } from "../../shared/client/index.js";
import { startAgent, type TestAgent } from "./agent.js";
import { startCoordinator, type TestCoordinator } from "./coordinator.js";

export interface AgentlessFarm {
  coordinator: TestCoordinator;
  hq: HQServer;
}

export interface OneAgentFarm extends AgentlessFarm {
  agent: TestAgent;
}

export async function agentlessFarm(t: TestContext): Promise<AgentlessFarm> {
  const coordinator = await startCoordinator();
  t.after(() => coordinator.stop());
  const hq = new HQServer(coordinator.url);
  t.after(() => hq.rpc.close());
  return { coordinator, hq };
}

export async function oneAgentFarm(t: TestContext, cpus = 2): Promise<OneAgentFarm> {
  const { coordinator, hq } = await agentlessFarm(t);
  const agent = await startAgent({ serverUrl: coordinator.url, cpus });
  t.after(() => agent.stop());
  return { coordinator, agent, hq };
}
