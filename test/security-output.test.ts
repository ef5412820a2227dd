// Shared output limits (issue 21, item 9): one viewer cannot hold every live-output socket, and a whole log
// is streamed into the getJobOutput reply (escaped on the way, UTF-8 kept whole across chunks), with a cap
// on how many are streamed at once (more wait their turn). The 300 MB memory bound is in logs-store.test.ts.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { request } from "node:http";
import { WebSocket } from "ws";
import { XmlRpcClient } from "../shared/xmlrpc/client.js";
import { startAgent } from "./support/agent.js";
import { startCoordinator } from "./support/coordinator.js";
import { PRELUDE, python } from "./support/python.js";
import { eventually } from "./support/eventually.js";

const sha = (data: Buffer) => createHash("sha256").update(data).digest("hex");

/** The bytes of a getJobOutput reply over raw HTTP, read and counted, not kept. */
function rawReplyBytes(url: string, jobId: number): Promise<number> {
  const body = `<?xml version="1.0"?><methodCall><methodName>getJobOutput</methodName><params><param><value><int>${jobId}</int></value></param></params></methodCall>`;
  return new Promise((resolve, reject) => {
    const req = request(`${url}/RPC2`, { method: "POST", agent: false }, (res) => {
      let bytes = 0;
      res.on("data", (chunk: Buffer) => (bytes += chunk.length));
      res.on("end", () => resolve(bytes));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** Opens a live-output socket; resolves "open" or the HTTP status it was refused with. */
function openViewer(url: string, jobId: number, sockets: WebSocket[]): Promise<"open" | number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url.replace("http", "ws")}/ws/output/${jobId}`);
    sockets.push(ws);
    ws.on("open", () => resolve("open"));
    ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
    ws.on("error", () => resolve(0));
  });
}

test("a whole log over 1 MiB is streamed into getJobOutput: Python reads it exactly, parallel reads queue, multicall is refused; a viewer holds a bounded number of output sockets", async (t) => {
  const coordinator = await startCoordinator({
    env: { OPENHQ_MAX_OUTPUT_SOCKETS_PER_USER: "3", OPENHQ_MAX_LOG_READS: "1" },
  });
  t.after(() => coordinator.stop());
  const agent = await startAgent({ serverUrl: coordinator.url, cpus: 2 });
  t.after(() => agent.stop());
  const hq = new XmlRpcClient(coordinator.url);
  t.after(() => hq.close());

  // 3 MB with what XML must escape, carriage returns, and two-byte characters cut by chunk boundaries.
  const command = `printf 'start <&> \\r\\n'; yes 'é<&>x\r' | head -c 3000001; printf '\\nend\\n'`;
  const [jobId] = await hq.call<number[]>("newjob", { name: "big output", shell: "bash", command });
  assert.ok(jobId !== undefined);
  const [sleeper] = await hq.call<number[]>("newjob", {
    name: "watched",
    shell: "bash",
    command: "sleep 600",
  });
  assert.ok(sleeper !== undefined);
  await eventually("the big output job succeeds", async () => {
    const { status } = await hq.call<{ status: string }>("getJob", jobId, ["status"]);
    return status === "succeeded";
  });
  const logBytes = await (await fetch(`${coordinator.url}/jobs/${jobId}/log`)).arrayBuffer();
  const expected = Buffer.from(Buffer.from(logBytes).toString("utf8"), "utf8");
  assert.ok(expected.length > 3_000_000);

  const result = await python<Record<string, unknown>>(
    `${PRELUDE}
import hashlib
text = hq.getJobOutput(${jobId})
multi = hq.system.multicall([{"methodName": "getJobOutput", "params": [${jobId}]}])[0]
out({"sha": hashlib.sha256(text.encode("utf-8")).hexdigest(), "chars": len(text), "multicall": multi})
`,
    { HQSERVER: coordinator.url },
  );
  assert.equal(result["sha"], sha(expected), "Python's string is the log, escapes and all");
  assert.match(JSON.stringify(result["multicall"]), /too large for system\.multicall/);

  // One stream at a time (maxLogReads = 1): the others wait their turn and all complete.
  const sizes = await Promise.all([1, 2, 3].map(() => rawReplyBytes(coordinator.url, jobId)));
  for (const size of sizes) assert.ok(size > 3_000_000, `a streamed reply of ${size} bytes`);

  // Live-output sockets: 3 per viewer (an address here, access control being off).
  await eventually("the watched job runs", async () => {
    const { status } = await hq.call<{ status: string }>("getJob", sleeper, ["status"]);
    return status === "running";
  });
  const sockets: WebSocket[] = [];
  t.after(() => sockets.forEach((s) => s.terminate()));
  const first = await Promise.all([1, 2, 3].map(() => openViewer(coordinator.url, sleeper, sockets)));
  assert.deepEqual(first, ["open", "open", "open"]);
  assert.equal(await openViewer(coordinator.url, sleeper, sockets), 429, "a fourth is refused");
  const closed = new Promise((resolve) => sockets[0]?.once("close", resolve));
  sockets[0]?.close();
  await closed;
  await eventually(
    "a socket frees a place",
    async () => (await openViewer(coordinator.url, sleeper, sockets)) === "open",
    10_000,
  );
  await hq.call("cancelJobs", [sleeper]);
});
