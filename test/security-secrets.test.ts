// Issue 21 item 4: the farm secret is never handed out. A job started by an agent that has the secret in its
// own environment (as `npm start` starts it: OPENHQ_AGENT_TOKEN) cannot print it, nor any other OPENHQ_* or
// npm_* variable of the agent, while the system variables a job needs are there; the anonymous /install page
// shows a placeholder and how to read the secret on the coordinator's host.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startAgent, type TestAgent } from "./support/agent.js";
import { startCoordinator, type TestCoordinator } from "./support/coordinator.js";
import { TEST_FARM_SECRET } from "./support/farm-secret.js";
import { py, waitFinished } from "./support/farm-kit.js";

let coordinator: TestCoordinator;
let agent: TestAgent;

before(async () => {
  coordinator = await startCoordinator({ env: { OPENHQ_HEARTBEAT_INTERVAL: "300" } });
  agent = await startAgent({
    serverUrl: coordinator.url,
    name: "scrub",
    env: {
      OPENHQ_CA_FILE_EXTRA: "agent-only",
      npm_config__authToken: "npm-registry-token",
      SITE_LICENSE: "lic",
    },
  });
});

after(async () => {
  await agent.stop();
  await coordinator.stop();
});

test("a job never sees the agent's OPENHQ_* and npm_* variables, keeps PATH, HOME and its own", async () => {
  const ids = await py<number[]>(
    coordinator.url,
    `out(hq.newjob({"name": "env", "command": "env; echo token=[$OPENHQ_AGENT_TOKEN]", "environment": {"OPENHQ_MINE": "submitter"}}))`,
  );
  assert.deepEqual(
    await waitFinished(coordinator.url, ids),
    { [String(ids[0])]: "succeeded" },
    agent.output(),
  );
  const output = await py<string>(coordinator.url, `out(hq.getJobOutput(${ids[0]}))`);
  assert.ok(!output.includes(TEST_FARM_SECRET), output);
  assert.ok(!output.includes("npm-registry-token"), output);
  assert.match(output, /^token=\[\]$/m);
  assert.doesNotMatch(output, /^(OPENHQ_(AGENT|CA)|npm_)/m);
  assert.match(output, /^OPENHQ_MINE=submitter$/m, "the job's own environment is the submitter's to set");
  for (const name of ["PATH", "HOME", "SITE_LICENSE", "HQSERVER", "JOBID"])
    assert.match(output, new RegExp(`^${name}=`, "m"), `${name} is passed on`);
});

test("the anonymous /install page shows no farm secret, and says how to read it", async () => {
  const page = await (await fetch(`${coordinator.url}/install`)).text();
  assert.ok(!page.includes(TEST_FARM_SECRET), "no secret for an anonymous visitor");
  assert.match(page, /--secret FARM-SECRET/);
  assert.match(page, /openhq secret/);
  assert.match(page, /http:\/\/127\.0\.0\.1:\d+\/install\/agent\.sh/);
});
