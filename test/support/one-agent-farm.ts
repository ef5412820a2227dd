// The farms most end-to-end tests need: a coordinator on a private redis-server and an HQServer client on it
// (agentlessFarm), with one real agent (2 CPUs) beside them (oneAgentFarm), each stopped when the test ends;
// or a coordinator and one agent for a whole test file (useOneAgentFarm).

import type { TestContext } from "node:test";
import { HQServer } from "../../shared/client/index.js";
import { startAgent, type TestAgent } from "./agent.js";
import { startCoordinator, type TestCoordinator } from "./coordinator.js";
import { useCoordinator, type CoordinatorFixture, type FixtureOptions } from "./coordinator-fixture.js";
import { eventually } from "./eventually.js";

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

export interface FileFarm extends CoordinatorFixture {
  readonly agent: TestAgent;
}

/**
 * A coordinator fixture (useCoordinator) with one real agent of `cpus` CPUs for a whole test file: call it at
 * the top of the file (it registers the file's before/after hooks). The agent is registered before the tests
 * and stopped before the coordinator.
 */
export function useOneAgentFarm(options: FixtureOptions = {}, cpus = 2): FileFarm {
  let agent: TestAgent | null = null;
  const fixture = useCoordinator(
    options,
    async (f) => {
      agent = await startAgent({ serverUrl: f.url, cpus });
      const hq = new HQServer(f.url);
      try {
        await eventually("the agent to register", async () => (await hq.getClients()).length > 0);
      } finally {
        hq.rpc.close();
      }
    },
    () => agent?.stop(),
  );
  return Object.defineProperty(fixture, "agent", {
    get(): TestAgent {
      if (agent === null) throw new Error("the farm starts in before(): use it in tests and hooks");
      return agent;
    },
  }) as FileFarm;
}
