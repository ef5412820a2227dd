// Hostile-input fuzz of the two other network edges (test/fuzz.test.ts covers port 5000's XML-RPC): the
// agent link (/agent WebSocket) and an agent's port 5001, against real processes. Link: garbage frames and
// malformed hellos from unauthenticated sockets, then an enrolled peer sending malformed heartbeats and job
// events for a job it does not hold. Every socket must be closed or refused, nothing may register, the seed
// job must not change, and the coordinator must keep answering. Port 5001: random bodies, methods and
// headers must get a Fault or a 4xx, and the agent must stay up. Seeded: FUZZ_SEED=<n> replays a run.

import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import WebSocket from "ws";
import { AGENT_PATH, PROTOCOL_VERSION } from "../shared/protocol.js";
import { startAgent, type TestAgent } from "./support/agent.js";
import { startCoordinator, type TestCoordinator } from "./support/coordinator.js";
import { TEST_FARM_SECRET } from "./support/farm-secret.js";
import { ProtocolPeer } from "./support/protocol-peer.js";
import { PRELUDE, python } from "./support/python.js";

/** FUZZ_SCALE=10 for a deep run; the suite's default keeps the file under half a minute. */
const SCALE = Number(process.env["FUZZ_SCALE"] ?? 1);
const LINK_SOCKETS = 150 * SCALE;
const BATCH = 50;
const EVENTS = 1500 * SCALE;
const PORT_REQUESTS = 300 * SCALE;

const seed = Number(process.env["FUZZ_SEED"] ?? Math.floor(Math.random() * 2 ** 31));
let state = seed >>> 0;
function random(): number {
  state = (state + 0x6d2b79f5) >>> 0; // mulberry32
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n: number): number => Math.floor(random() * n);
const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;

/** A value of a random wrong-or-right type. */
function value(): unknown {
  return pick([
    () => int(10),
    () => -int(1000) - 1,
    () => 1e300,
    () => Number.NaN,
    () => 2 ** 53 + 2,
    () => 0.5,
    () => "x".repeat(int(3) === 0 ? 100_000 : 5),
    () => "",
    () => null,
    () => true,
    () => [],
    () => Array.from({ length: int(3) === 0 ? 20_000 : 3 }, () => ({ jobId: int(5), attempt: 1 })),
    () => ({ jobId: "1", attempt: {} }),
    () => ({ __proto__: { polluted: true } }),
  ])();
}

function hostileHello(): unknown {
  const hello: Record<string, unknown> = {
    type: "hello",
    protocol: PROTOCOL_VERSION,
    hostname: "fuzzhost",
    name: `f${int(1000)}`,
    version: "x",
    platform: "linux",
    arch: "linux-x86_64",
    cpus: 1,
    cpuSpeed: 1,
    memory: 1,
    ip: "127.0.0.1",
    clientPort: 5001,
    availabilityRules: [],
    running: [],
  };
  // Either no or a wrong secret (never joins), or the right one with a field it cannot hold (refused).
  const secret = int(3);
  if (secret === 0) {
    hello[pick(Object.keys(hello).filter((k) => k !== "type"))] = value();
  } else if (secret === 1) hello["token"] = value();
  else {
    hello["token"] = TEST_FARM_SECRET;
    const [field, bad] = pick<[string, unknown]>([
      ["cpus", pick([0, -1, 1e6, 1.5, "4", null])],
      ["hostname", pick(["", 5, "x".repeat(1000), null])],
      ["name", pick([42, null, "x".repeat(1000)])],
      ["running", pick(["x", [{ jobId: "1" }], null, {}])],
      ["availabilityRules", pick([{}, "x", null])],
      ["clientPort", pick([70000, -1, "5001"])],
      ["memory", pick([-1, "1", null])],
      ["protocol", pick([999, "1", null])],
    ]);
    hello[field] = bad;
  }
  return hello;
}

function garbageFrame(): string | Buffer {
  return pick([
    () => Buffer.from(Array.from({ length: int(200) }, () => int(256))),
    () => "{",
    () => "null",
    () => "[]",
    () => JSON.stringify({ type: pick(["output", "finished", "heartbeat", "goodbye", "nope"]), jobId: 1 }),
    () => JSON.stringify(hostileHello()),
  ])();
}

function hostileEvent(jobId: number): unknown {
  const base: Record<string, unknown> = {
    type: pick([
      "started",
      "progress",
      "output",
      "finished",
      "paused",
      "resumed",
      "heartbeat",
      "ack",
      "nope",
    ]),
    jobId: int(2) === 0 ? jobId : value(),
    attempt: int(2) === 0 ? 1 : value(),
    seq: int(2) === 0 ? int(100) + 1 : value(),
  };
  if (base["type"] === "output") base["data"] = int(2) === 0 ? "INJECTED\n" : value();
  if (base["type"] === "finished") Object.assign(base, { exitCode: 0, signal: null, reason: "exited" });
  if (base["type"] === "progress") base["progress"] = value();
  if (base["type"] === "heartbeat")
    Object.assign(base, {
      load: value(),
      idleTime: value(),
      freeMemory: value(),
      available: value(),
      running: value(),
    });
  return base;
}

function post(
  port: number,
  body: string | Buffer,
  headers: Record<string, string>,
  method: string,
): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      { host: "127.0.0.1", port, method, path: pick(["/", "/RPC2", "/x?y"]), headers },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", () => resolve(-1)); // the agent may cut an oversized request short: fine
    req.end(body);
  });
}

function xmlBody(): string {
  const method = pick([
    "wakeup",
    "terminate",
    "system.multicall",
    "system.listMethods",
    "constructor",
    "__proto__",
    "x".repeat(5000),
  ]);
  const params = pick([
    "",
    "<params><param><value><int>1</int></value></param></params>",
    `<params><param><value><array><data>${"<value><struct><member><name>methodName</name><value>terminate</value></member></struct></value>".repeat(int(40))}</data></array></value></param></params>`,
    "<params><param><value>" + "<array><data><value>".repeat(200),
    "<!DOCTYPE x [<!ENTITY a 'aaaa'>]><params>&a;</params>",
  ]);
  return `<?xml version="1.0"?><methodCall><methodName>${method}</methodName>${params}</methodCall>`;
}

const admin = (url: string): string => url.replace("://", "://fuzz:fuzz-pw@");

describe(`fuzz: the agent link and port 5001 (FUZZ_SEED=${seed})`, () => {
  let coordinator: TestCoordinator;
  let redis: Redis;
  let agent: TestAgent;

  before(async () => {
    // Access control on: the agent then holds terminate to the farm token, so no fuzzed call may end it.
    coordinator = await startCoordinator({
      env: {
        OPENHQ_HEARTBEAT_INTERVAL: "500",
        OPENHQ_AUTH: "on",
        OPENHQ_AUTH_USERS: "fuzz:admin:fuzz-pw",
      },
    });
    redis = new Redis(coordinator.redisUrl);
  });
  after(async () => {
    await agent?.stop();
    redis?.disconnect();
    await coordinator?.stop();
  });

  it(`${LINK_SOCKETS} hostile sockets and ${EVENTS} hostile events change nothing`, async (t) => {
    const holder = await new ProtocolPeer({
      serverUrl: coordinator.url,
      hostname: "holder",
      mode: "hold",
    }).connect();
    const [jobId] = await python<number[]>(`${PRELUDE}out(hq.newjob({"name": "seed", "command": "true"}))`, {
      HQSERVER: admin(coordinator.url),
    });
    await holder.waitFor(() => holder.running.has(jobId as number));
    await new Promise((r) => setTimeout(r, 500));
    const jobBefore = await redis.hgetall(coordinator.keys.job(jobId!));

    const url = coordinator.url.replace("http", "ws") + AGENT_PATH;
    // Refusals come after a 1 s delay (a misconfigured farm must not spin): sockets go in parallel batches.
    // A socket that sent binary frames only is ignored until the 15 s hello timeout: given up after 2.5 s
    // (a few in each batch; whatever joined would show in the labels checked below).
    const hostileSocket = (i: number) => {
      const ws = new WebSocket(url);
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          ws.terminate();
          resolve();
        }, 2500);
        ws.once("open", () => {
          for (let k = 0; k < 1 + int(3); k++) ws.send(garbageFrame());
        });
        ws.on("message", (data) => {
          const msg = JSON.parse(data.toString()) as { type: string };
          assert.notEqual(msg.type, "welcome", `socket ${i} was welcomed`);
        });
        ws.once("close", () => {
          clearTimeout(timer);
          resolve();
        });
        ws.once("error", () => {});
      });
    };
    for (let i = 0; i < LINK_SOCKETS; i += BATCH)
      await Promise.all(Array.from({ length: BATCH }, (_, k) => hostileSocket(i + k)));
    const labels = await redis.hkeys(coordinator.keys.clientsByLabel).catch(() => []);
    t.diagnostic(`labels after hostile hellos: ${JSON.stringify(labels)}`);
    assert.ok(!labels.some((l) => l.startsWith("fuzzhost")), JSON.stringify(labels));

    // An enrolled peer (not the holder) sends malformed and foreign events; each bad one may end its link.
    let rogue = await new ProtocolPeer({
      serverUrl: coordinator.url,
      hostname: "rogue",
      mode: "hold",
    }).connect();
    for (let i = 0; i < EVENTS; i++) {
      if ((rogue as unknown as { ws: WebSocket }).ws.readyState !== WebSocket.OPEN)
        rogue = await new ProtocolPeer({
          serverUrl: coordinator.url,
          hostname: "rogue",
          mode: "hold",
        }).connect();
      rogue.send(hostileEvent(jobId as number) as never);
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 1500));
    const jobAfter = await redis.hgetall(coordinator.keys.job(jobId!));
    assert.deepEqual(jobAfter, jobBefore, "the held job did not change");
    assert.equal(
      await redis.exists(coordinator.keys.jobLog(jobId!, Number(jobBefore["attempt"]))),
      0,
      "no output",
    );
    const answer = await python<{ clients: number; job: string }>(
      `${PRELUDE}out({"clients": len(hq.getClients()), "job": hq.getJob(${jobId}, ["status"])["status"]})`,
      { HQSERVER: admin(coordinator.url) },
    );
    assert.equal(answer.job, "running");
    assert.equal(coordinator.process.exitCode, null);
    rogue.close();
    holder.close();
  });

  it(`${PORT_REQUESTS} hostile requests to port 5001 get a Fault or a 4xx; the agent stays`, async () => {
    agent = await startAgent({ serverUrl: coordinator.url, name: "fuzzed" });
    const bad: string[] = [];
    for (let i = 0; i < PORT_REQUESTS; i++) {
      const headers: Record<string, string> = {
        "content-type": pick(["text/xml", "text/plain", "application/json"]),
      };
      if (int(4) === 0) headers["origin"] = pick(["http://evil.example", "null", "http://127.0.0.1"]);
      if (int(4) === 0)
        headers["authorization"] = pick(["Basic !!!", `Basic ${Buffer.from("hq:nope").toString("base64")}`]);
      if (int(10) === 0) headers["content-encoding"] = pick(["gzip", "br", "x"]);
      const body = int(5) === 0 ? Buffer.from(Array.from({ length: int(2000) }, () => int(256))) : xmlBody();
      const status = await post(
        agent.port,
        body,
        headers,
        pick(["POST", "POST", "POST", "GET", "PUT", "DELETE"]),
      );
      if (status !== -1 && status !== 200 && (status < 400 || status >= 500))
        bad.push(`#${i}: HTTP ${status}`);
    }
    assert.deepEqual(bad.slice(0, 20), []);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(agent.process.exitCode, null, `the agent exited:\n${agent.output()}`);
  });
});
