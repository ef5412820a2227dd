// The agent against the real coordinator (issue 3's end-to-end checks): 200 MB byte-identical through
// getJobOutput, a coordinator outage mid-job (the job ends during it), and an agent SIGKILLed mid-job and started again.
import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { XmlRpcClient } from "../shared/xmlrpc/client.js";
import { startAgent } from "./support/agent.js";
import { startCoordinator } from "./support/coordinator.js";
import { startRedis } from "./support/redis.js";
import { livePids } from "./support/processes.js";
import { eventually } from "./support/eventually.js";

const FINISHED = ["succeeded", "failed", "cancelled", "abandoned"];
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

async function finished(client: XmlRpcClient, id: number, ms?: number): Promise<string> {
  return eventually(
    `job ${id} to finish`,
    async () => {
      const status = String(await client.call("getstatus", id));
      return FINISHED.includes(status) ? status : undefined;
    },
    ms,
  );
}

async function coordinatorWithAgent(opts: { redisUrl?: string } = {}) {
  const coordinator = await startCoordinator({
    ...(opts.redisUrl ? { redisUrl: opts.redisUrl } : {}),
    env: { OPENHQ_MAX_OUTPUT_BYTES: String(512 * 1024 * 1024) },
  });
  cleanups.push(coordinator.stop);
  const client = new XmlRpcClient(coordinator.url, { timeoutMs: 300_000, maxBodyBytes: 1024 * 1024 * 1024 });
  cleanups.push(async () => client.close());
  const agent = await startAgent({ serverUrl: coordinator.url });
  cleanups.push(agent.stop);
  await eventually(
    "the agent to register",
    async () => ((await client.call<unknown[]>("getClients")) ?? []).length > 0,
  );
  return { coordinator, client, agent };
}

describe("agent with the real coordinator", () => {
  it("a job printing 200 MB ends with byte-identical output at the coordinator", async () => {
    const { client } = await coordinatorWithAgent();
    const line = "frame 0042 sample 17/256 lorem ipsum dolor sit amet, render output line";
    const bytes = 200 * 1024 * 1024;
    const [id] = await client.call<number[]>("newjob", {
      name: "200MB",
      command: `yes '${line}' | head -c ${bytes}`,
    });
    assert.equal(await finished(client, id!), "succeeded");
    const output = await client.call<string>("getJobOutput", id!);
    const block = Buffer.from(`${line}\n`.repeat(8192));
    const expected = createHash("sha256");
    for (let left = bytes; left > 0; left -= block.length)
      expected.update(left >= block.length ? block : block.subarray(0, left));
    assert.equal(Buffer.byteLength(output), bytes);
    assert.equal(createHash("sha256").update(output).digest("hex"), expected.digest("hex"));
  });

  it("a coordinator outage mid-job: the job keeps running and ends during it, output complete, finished applied once", async () => {
    const redis = await startRedis();
    cleanups.push(redis.stop);
    const first = await coordinatorWithAgent({ redisUrl: redis.url });
    // The job prints its first 10 blocks, then waits for the outage to begin; the other 30 and its end come
    // while the coordinator is down, so the agent must keep them and the finish until it can deliver them.
    const outage = join(mkdtempSync(join(tmpdir(), "openhq-outage-")), "begun");
    cleanups.push(async () => rmSync(dirname(outage), { recursive: true, force: true }));
    const command =
      "echo begin; for i in $(seq 1 40); do seq $((i*1000)) $((i*1000+999)); " +
      `if [ $i = 10 ]; then while [ ! -e ${outage} ]; do sleep 0.1; done; fi; sleep 0.05; done; echo end`;
    const [id] = await first.client.call<number[]>("newjob", { name: "outage", command });
    await eventually("output to begin", async () =>
      (await first.client.call<string>("getJobOutput", id!)).startsWith("begin"),
    );
    await first.coordinator.stop();
    writeFileSync(outage, "");
    const agentLog = () => readFileSync(first.agent.logFile, "utf8");
    await eventually("the agent to try the stopped coordinator", async () =>
      /cannot connect to .*attempt 2\b/.test(agentLog()),
    );
    await eventually("the job to end while the coordinator is down", async () =>
      new RegExp(`Finished job ${id}\\b`).test(agentLog()),
    );
    const second = await startCoordinator({
      redisUrl: redis.url,
      port: first.coordinator.port,
      args: ["--prefix", first.coordinator.prefix],
    });
    cleanups.push(second.stop);
    const client = new XmlRpcClient(first.coordinator.url, { timeoutMs: 120_000 });
    cleanups.push(async () => client.close());
    assert.equal(await finished(client, id!, 180_000), "succeeded");
    const numbers: string[] = [];
    for (let i = 1; i <= 40; i++) for (let n = i * 1000; n <= i * 1000 + 999; n++) numbers.push(String(n));
    assert.equal(await client.call<string>("getJobOutput", id!), `begin\n${numbers.join("\n")}\nend\n`);
    assert.equal(agentLog().match(new RegExp(`Finished job ${id}\\b`, "g"))?.length, 1);
    const job = await client.call<{ logs?: [string, unknown][] }>("getJob", id!, ["logs"]);
    const finishes = (job.logs ?? []).filter(([text]) => /succeeded/.test(text));
    assert.ok(finishes.length <= 1, `finished applied more than once: ${JSON.stringify(job.logs)}`);
  });

  it("an agent SIGKILLed mid-job and started again kills the leftover group, and the coordinator moves on", async () => {
    const { coordinator, client, agent } = await coordinatorWithAgent();
    const [id] = await client.call<number[]>("newjob", {
      name: "orphan",
      command: "echo pid $$; sleep 1000 & sleep 1000; wait",
    });
    const firstPid = await eventually("the job to start", async () => {
      const m = /pid (\d+)/.exec(await client.call<string>("getJobOutput", id!));
      return m ? Number(m[1]) : undefined;
    });
    agent.process.kill("SIGKILL");
    await agent.exited;
    assert.ok(livePids(firstPid).length > 0, "the job outlived its agent");
    const again = await startAgent({ serverUrl: coordinator.url, stateDir: agent.stateDir });
    cleanups.push(again.stop);
    await eventually("the leftover group to die", async () => livePids(firstPid).length === 0, 30_000);
    // Told: the coordinator stops counting on the killed attempt (finished, or a new attempt that runs anew).
    await eventually(
      "the coordinator to drop the killed attempt",
      async () => {
        const status = String(await client.call("getstatus", id!));
        if (FINISHED.includes(status)) return true;
        const m = /pid (\d+)/.exec(await client.call<string>("getJobOutput", id!));
        return m !== null && Number(m[1]) !== firstPid;
      },
      60_000,
    );
    await client.call("cancelJobs", [id!]);
  });
});
