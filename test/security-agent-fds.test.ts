// Issue 21, finding 3: anyone on the network could crash an agent by using up its file handles through port
// 5001 (the next job start threw `spawn /bin/sh EMFILE` unhandled). Real coordinator, real agent processes.

import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { hostname } from "node:os";
import { after, test } from "node:test";
import { XmlRpcClient } from "../shared/xmlrpc/client.js";
import { startAgent, type TestAgent } from "./support/agent.js";
import { startCoordinator } from "./support/coordinator.js";
import { eventually } from "./support/eventually.js";

const FINISHED = ["succeeded", "failed", "cancelled", "abandoned"];
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const coordinator = await startCoordinator();
cleanups.push(coordinator.stop);
const client = new XmlRpcClient(coordinator.url);
cleanups.push(() => client.close());

async function agentWith(name: string, args: string[] = []): Promise<TestAgent> {
  const agent = await startAgent({ serverUrl: coordinator.url, name, args });
  cleanups.push(agent.stop);
  await eventually("the agent to register", async () =>
    ((await client.call<{ name: string }[]>("getClients")) ?? []).some((c) => c.name === name),
  );
  return agent;
}

async function run(agent: string, command: string): Promise<{ status: string; output: string }> {
  const [id] = await client.call<number[]>("newjob", {
    name: `fds ${agent}`,
    command,
    conditions: [{ type: "client", name: "hostname", op: "==", value: `${hostname()}:${agent}` }],
  });
  const status = await eventually(`job ${id} to finish`, async () => {
    const s = String(await client.call("getstatus", id));
    return FINISHED.includes(s) ? s : undefined;
  });
  return { status, output: await client.call<string>("getJobOutput", id) };
}

/** Opens `count` idle connections to a port from each of `addresses` (loopback), resolved once each is open or refused. */
async function flood(port: number, addresses: string[], count: number): Promise<Socket[]> {
  const sockets: Socket[] = [];
  await Promise.all(
    addresses.flatMap((localAddress) =>
      Array.from(
        { length: count },
        () =>
          new Promise<void>((resolve) => {
            const s = connect({ port, host: "127.0.0.1", localAddress });
            s.on("error", () => resolve());
            s.on("close", () => resolve());
            s.on("connect", () => resolve());
            sockets.push(s);
          }),
      ),
    ),
  );
  cleanups.push(() => sockets.forEach((s) => s.destroy()));
  return sockets;
}

const openFds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

test("a connection flood on port 5001 is capped: the agent's handles stay bounded and jobs run", async () => {
  const agent = await agentWith("capped");
  const pid = agent.process.pid as number;
  const before = openFds(pid);
  const sockets = await flood(agent.port, ["127.0.0.1", "127.0.0.2", "127.0.0.3"], 200);
  await new Promise((r) => setTimeout(r, 500));
  // Default caps: 64 in all, 8 per address; each socket is one handle.
  assert.ok(openFds(pid) <= before + 64, `agent holds ${openFds(pid) - before} more handles`);
  await eventually("the sockets over the caps to be closed", async () =>
    sockets.filter((s) => s.readyState === "open").length <= 3 * 8 ? true : undefined,
  );
  const job = await run("capped", "echo still rendering");
  assert.equal(job.status, "succeeded");
  assert.match(job.output, /still rendering/);
  assert.equal(agent.process.exitCode, null);
  for (const s of sockets) s.destroy();
});

test("with no file handles left, a job start fails with the reason and the agent lives on", async () => {
  // Caps lifted on purpose, and a small handle limit, so the flood does use up every handle.
  const agent = await agentWith("exhausted", [
    "--max-connections",
    "10000",
    "--max-connections-per-address",
    "10000",
  ]);
  const pid = agent.process.pid as number;
  const limit = openFds(pid) + 40;
  execFileSync("prlimit", [`--nofile=${limit}:${limit}`, "--pid", String(pid)]);
  const sockets = await flood(agent.port, ["127.0.0.1"], 200);
  await eventually("the agent's handles to run out", async () => openFds(pid) >= limit - 2 || undefined);
  const failed = await run("exhausted", "echo should not start");
  assert.equal(failed.status, "failed");
  assert.match(failed.output, /no file handles left/);
  assert.equal(agent.process.exitCode, null, "the agent is alive");
  for (const s of sockets) s.destroy();
  await eventually("the handles to come back", async () => openFds(pid) < limit - 20 || undefined);
  const next = await run("exhausted", "echo back to work");
  assert.equal(next.status, "succeeded");
  assert.match(next.output, /back to work/);
});
