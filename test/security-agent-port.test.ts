// Issue 9, findings 4 and 9 (agent side): port 5001 and the agent's state folder, against real agent
// processes. A small coordinator stand-in (a WebSocket server) welcomes the agent and counts its heartbeats.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WebSocketServer } from "ws";
import type { AgentMessage } from "../shared/protocol.js";
import { startAgent, type TestAgent } from "./support/agent.js";
import { assignMessage } from "./support/assign.js";
import { freePort } from "./support/ports.js";
import { eventually } from "./support/eventually.js";

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function standIn(welcomeExtra: object = {}): Promise<{
  url: string;
  heartbeats: () => number;
  send: (msg: object) => void;
  events: AgentMessage[];
}> {
  const port = await freePort();
  const wss = new WebSocketServer({ port, host: "127.0.0.1", path: "/agent" });
  await new Promise<void>((r) => wss.once("listening", () => r()));
  let beats = 0;
  const events: AgentMessage[] = [];
  let socket: { send(text: string): void } | null = null;
  wss.on("connection", (ws) => {
    socket = ws;
    ws.on("message", (data) => {
      const msg = JSON.parse(data.toString()) as AgentMessage;
      events.push(msg);
      if (msg.type === "hello")
        ws.send(
          JSON.stringify({
            type: "welcome",
            clientId: 1,
            heartbeatInterval: 600_000,
            hqroot: "",
            serverUrl: "",
            stop: [],
            ...welcomeExtra,
          }),
        );
      if (msg.type === "heartbeat") beats++;
    });
  });
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => r());
      }),
  );
  return {
    url: `http://127.0.0.1:${port}`,
    heartbeats: () => beats,
    send: (msg) => socket?.send(JSON.stringify(msg)),
    events,
  };
}

function post(
  port: number,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method: "POST", path: "/RPC2", headers }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const call = (method: string) =>
  `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params/></methodCall>`;
const multicall = (method: string, n: number) =>
  `<?xml version="1.0"?><methodCall><methodName>system.multicall</methodName><params><param><value><array><data>${`<value><struct><member><name>methodName</name><value><string>${method}</string></value></member><member><name>params</name><value><array><data/></array></value></member></struct></value>`.repeat(n)}</data></array></value></param></params></methodCall>`;

async function agentOn(
  url: string,
  opts: Partial<Parameters<typeof startAgent>[0]> = {},
): Promise<TestAgent> {
  const agent = await startAgent({ serverUrl: url, ...opts });
  cleanups.push(agent.stop);
  return agent;
}

test("a cross-site text/plain POST of terminate is refused before its body is read; the agent stays", async () => {
  const coord = await standIn();
  const agent = await agentOn(coord.url, { name: "xsite" });
  const forged = await post(agent.port, call("terminate"), {
    "content-type": "text/plain",
    origin: "http://evil.example",
  });
  assert.equal(forged.status, 403);
  // A rebinding page is same-origin to the browser but still sends Origin (and Sec-Fetch-Site) on POST.
  const rebound = await post(agent.port, call("terminate"), { "sec-fetch-site": "same-origin" });
  assert.equal(rebound.status, 403);
  // Without the farm token even a script is refused terminate.
  const anonymous = await post(agent.port, call("terminate"), { "content-type": "text/xml" });
  assert.match(anonymous.body, /<int>401<\/int>/);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(agent.process.exitCode, null, "the agent is still running");
});

test("with the farm's access control off, a script's terminate needs no token (as HQueue's client); a browser's is still refused", async () => {
  const coord = await standIn({ clientApiAuth: false });
  const agent = await agentOn(coord.url, { name: "open" });
  for (let i = 0; i < 100 && !coord.events.some((e) => e.type === "heartbeat"); i++)
    await new Promise((r) => setTimeout(r, 50)); // welcomed
  const forged = await post(agent.port, call("terminate"), {
    "content-type": "text/plain",
    origin: "http://evil.example",
  });
  assert.equal(forged.status, 403);
  const script = await post(agent.port, call("terminate"), { "content-type": "text/xml" });
  assert.doesNotMatch(script.body, /faultCode/);
  const code = await new Promise<number | null>((r) =>
    agent.process.exitCode !== null ? r(agent.process.exitCode) : agent.process.once("exit", (c) => r(c)),
  );
  assert.equal(code, 0);
});

test("a multicall of 3,000 wakeups is a Fault; wakeups force at most one heartbeat a second; callers are rate-limited", async () => {
  const coord = await standIn();
  const agent = await agentOn(coord.url, { name: "wake" });
  await eventually(
    "coord.events.some((m) => m.type === 'hello')",
    () => coord.events.some((m) => m.type === "hello"),
    60_000,
  );
  await new Promise((r) => setTimeout(r, 1500)); // welcomed, first heartbeat sent
  const before = coord.heartbeats();
  const huge = await post(agent.port, multicall("wakeup", 3000), { "content-type": "text/xml" });
  assert.equal(huge.status, 413, "a 3,000-call body is over port 5001's 64 KiB request limit");
  const many = await post(agent.port, multicall("wakeup", 100), { "content-type": "text/xml" });
  assert.match(many.body, /over the limit of 16/);
  const some = await post(agent.port, multicall("wakeup", 16), { "content-type": "text/xml" });
  assert.doesNotMatch(some.body, /faultCode/);
  await new Promise((r) => setTimeout(r, 500));
  assert.ok(coord.heartbeats() - before <= 1, `${coord.heartbeats() - before} heartbeats for 16 wakeups`);
  let limited = false;
  for (let i = 0; i < 40 && !limited; i++)
    limited = /<int>429<\/int>/.test(
      (await post(agent.port, call("wakeup"), { "content-type": "text/xml" })).body,
    );
  assert.ok(limited, "a caller flooding wakeup() is told to slow down");
});

test("a planted job record cannot make the agent kill a process it did not start; pgid 1 is never signalled", async () => {
  const coord = await standIn();
  const stateDir = mkdtempSync(join(tmpdir(), "openhq-sec-state-"));
  cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
  const victim = spawn("sleep", ["1000"], { detached: true, stdio: "ignore" });
  cleanups.push(() => void victim.kill("SIGKILL"));
  const pid = victim.pid as number;
  mkdirSync(join(stateDir, "jobs"), { recursive: true, mode: 0o700 });
  const plant = (name: string, record: object) =>
    writeFileSync(
      join(stateDir, "jobs", name),
      JSON.stringify({ jobId: 1, attempt: 1, agentPid: 1, ...record }),
    );
  plant("1-1.json", { pid, pgid: pid, startTime: 12345 }); // wrong start time
  plant("2-1.json", { pid, pgid: pid, startTime: null }); // no start time: proves nothing
  plant("3-1.json", { pid: 1, pgid: 1, startTime: null }); // kill(-1) would end every process
  plant("4-1.json", { pid: 0, pgid: 0, startTime: 0 });
  const agent = await agentOn(coord.url, { name: "planted", stateDir });
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(victim.exitCode, null);
  assert.equal(victim.signalCode, null, "the unrelated process group is alive");
  assert.equal(agent.process.exitCode, null);
  assert.ok(!existsSync(join(stateDir, "jobs", "3-1.json")), "malformed records are removed");
});

test("the state folder must be the agent's own: a symlink or another user's folder is refused; a loose mode is fixed", async () => {
  const coord = await standIn();
  const base = mkdtempSync(join(tmpdir(), "openhq-sec-dirs-"));
  cleanups.push(() => rmSync(base, { recursive: true, force: true }));
  const real = join(base, "real");
  mkdirSync(real, { mode: 0o700 });
  const link = join(base, "link");
  symlinkSync(real, link);
  await assert.rejects(agentOn(coord.url, { name: "sym", stateDir: link }), /exited \(2\)/);
  if (process.getuid?.() === 0) {
    const foreign = join(base, "foreign");
    mkdirSync(foreign, { mode: 0o777 });
    chownSync(foreign, 65534, 65534);
    await assert.rejects(agentOn(coord.url, { name: "foreign", stateDir: foreign }), /exited \(2\)/);
  }
  const loose = join(base, "loose");
  mkdirSync(loose);
  chmodSync(loose, 0o777);
  const agent = await agentOn(coord.url, { name: "loose", stateDir: loose });
  const { statSync } = await import("node:fs");
  assert.equal(statSync(loose).mode & 0o777, 0o700);
  assert.equal(agent.process.exitCode, null);
});

test("the default state folder is not under a world-writable /tmp; a local coordinator's farm secret is found", async () => {
  const { defaultConfig, loadConfig } = await import("../agent/config.js");
  assert.doesNotMatch(defaultConfig(1).stateDir, /^\/tmp\b/);
  const data = mkdtempSync(join(tmpdir(), "openhq-sec-data-"));
  cleanups.push(() => rmSync(data, { recursive: true, force: true }));
  writeFileSync(join(data, "farm-secret"), "local-secret\n", { mode: 0o600 });
  assert.equal(loadConfig([], { OPENHQ_DATA: data, XDG_DATA_HOME: data }, 1).farmSecret, "local-secret");
  assert.equal(loadConfig(["--secret", "given"], { OPENHQ_DATA: data }, 1).farmSecret, "given");
  // The earlier names stay accepted: --token, OPENHQ_AGENT_TOKEN.
  assert.equal(loadConfig(["--token", "old flag"], { OPENHQ_DATA: data }, 1).farmSecret, "old flag");
  assert.equal(loadConfig([], { OPENHQ_AGENT_TOKEN: "old env" }, 1).farmSecret, "old env");
  assert.equal(loadConfig([], { OPENHQ_FARM_SECRET: "new env" }, 1).farmSecret, "new env");
});

test("a maxTime beyond a Node timer's 24.8 days does not cancel the job at once", async () => {
  const coord = await standIn();
  await agentOn(coord.url, { name: "patient" });
  // The welcome answers the hello at once, and an assign sent after it arrives after it.
  await eventually(
    "coord.events.some((m) => m.type === 'hello')",
    () => coord.events.some((m) => m.type === "hello"),
    60_000,
  );
  const job = assignMessage("sleep 1; echo done", { maxTime: 30 * 24 * 3600 });
  coord.send(job);
  const deadline = Date.now() + 20_000;
  let finished: AgentMessage | undefined;
  while (Date.now() < deadline && !finished) {
    await new Promise((r) => setTimeout(r, 100));
    finished = coord.events.find((m) => m.type === "finished" && m.jobId === job.jobId);
  }
  assert.ok(finished && finished.type === "finished", "the job finished");
  assert.equal(finished.reason, "exited");
  assert.equal(finished.exitCode, 0);
});
