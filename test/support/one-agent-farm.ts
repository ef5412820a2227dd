// The farm most end-to-end tests need: a coordinator on a private redis-server, one real agent (2 CPUs),
// and an HQServer client on the coordinator, each stopped when the test ends.

import type { TestContext } from "node:test";
import { HQServer } from "../../shared/client/index.js";
import { startAgent, type TestAgent } from "./agent.js";
import { startCoordinator, type TestCoordinator } from "./coordinator.js";

export interface OneAgentFarm {
  coordinator: TestCoordinator;
  agent: TestAgent;
  hq: HQServer;
}

export async function oneAgentFarm(t: TestContext, cpus = 2): Promise<OneAgentFarm> {
  const coordinator = await startCoordinator();
  t.after(() => coordinator.stop());
  const agent = await startAgent({ serverUrl: coordinator.url, cpus });
  t.after(() => agent.stop());
  const hq = new HQServer(coordinator.url);
  t.after(() => hq.rpc.close());
  return { coordinator, agent, hq };
}
