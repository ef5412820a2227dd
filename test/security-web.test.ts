// Issue 9, findings 2, 3, 5, 6, 7, 8 against a real coordinator with access control on: read-only getConfig
// of every key, DNS rebinding, page headers, WebSocket origins, non-reading output viewers, unknown upgrade
// paths and a bounded shutdown, large unauthenticated bodies, the reply cap, out-of-range numbers.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { Redis } from "ioredis";
import WebSocket from "ws";
import { startCoordinator, type TestCoordinator } from "./support/coordinator.js";
import { eventually } from "./support/eventually.js";
import { iniArgs } from "./support/farm-kit.js";
import { rawRequest } from "./support/http.js";
import { ProtocolPeer } from "./support/protocol-peer.js";
import { PRELUDE, python } from "./support/python.js";

const BOSS = "boss:b0ss-pw";
const VIEWER = "viewer:v1ew-pw";
const SECRETS = ["b0ss-pw", "v1ew-pw", "smtp-pw", "redis-pw", "farm-s3cret"];
const REPLY_CAP = 300_000;

const INI = [
  "[app:main]",
  "openhq.auth = on",
  `openhq.auth.users = ${BOSS.replace(":", ":admin:")} ${VIEWER.replace(":", ":readonly:")}`,
  "openhq.serverUrl = http://boss:b0ss-pw@127.0.0.1:5000",
  "render.apiToken = redis-pw",
  "openhq.farmSecret = farm-s3cret",
  "smtp_server = smtp://mailer:smtp-pw@mail.example:25",
  "smtp_password = smtp-pw",
  "email_to = ops@example.com",
].join("\n");

let coord: TestCoordinator;
const peers: ProtocolPeer[] = [];

before(async () => {
  coord = await startCoordinator({
    args: iniArgs(INI),
    env: { OPENHQ_FARM_SECRET: "farm-s3cret", OPENHQ_MAX_REPLY_BYTES: String(REPLY_CAP) },
  });
});
after(async () => {
  for (const p of peers) p.close();
  await coord.stop();
});

const as = (login: string) => coord.url.replace("http://", `http://${login}@`);
const py = <T>(code: string, login = BOSS) => python<T>(PRELUDE + code, { HQSERVER: as(login) });

const basic = (login: string) => `Basic ${Buffer.from(login).toString("base64")}`;
const newjobXml = `<?xml version="1.0"?><methodCall><methodName>newjob</methodName><params><param><value><struct>
<member><name>name</name><value><string>rebound</string></value></member>
<member><name>command</name><value><string>id</string></value></member></struct></value></param></params></methodCall>`;

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1]);
}

test("a read-only user's getConfig of every key shows no password, token or URL credentials", async () => {
  const keys = INI.split("\n")
    .filter((l) => l.includes("="))
    .map((l) => (l.split("=")[0] ?? "").trim())
    .flatMap((k) => [k, `app:main.${k}`]);
  const values = await py<unknown[]>(`out([hq.getConfig(k) for k in ${JSON.stringify(keys)}])`, VIEWER);
  const text = JSON.stringify(values);
  for (const secret of SECRETS) assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
  assert.ok(text.includes("ops@example.com"), "plain settings are still served");
  assert.ok(text.includes("smtp://mailer:***@mail.example:25") || text.includes("null"));
  const errors = await py<unknown>(`out(hq.getServerErrors())`, VIEWER);
  for (const secret of SECRETS) assert.ok(!JSON.stringify(errors).includes(secret));
});

test("DNS rebinding: a request with a foreign Host is refused before it runs anything", async () => {
  const attacker = `attacker.example:${coord.port}`;
  const rebound = await rawRequest(coord.port, {
    headers: {
      host: attacker,
      origin: `http://${attacker}`,
      "content-type": "text/plain",
      authorization: basic(BOSS),
    },
    body: newjobXml,
  });
  assert.equal(rebound.status, 403);
  const page = await rawRequest(coord.port, { method: "GET", path: "/", headers: { host: attacker } });
  assert.equal(page.status, 403);
  // A foreign page posting to the real name is refused too (Origin is not this site).
  const crossSite = await rawRequest(coord.port, {
    headers: { origin: "http://evil.example", "content-type": "text/plain", authorization: basic(BOSS) },
    body: newjobXml,
  });
  assert.match(crossSite.body, /cross-site request refused/);
  const jobs = await py<unknown[]>(`out(hq.getJobIdsByStatus(["queued", "running", "succeeded", "failed"]))`);
  assert.deepEqual(jobs, []);
});

test("pages carry X-Frame-Options DENY and a CSP", async () => {
  const page = await rawRequest(coord.port, {
    method: "GET",
    path: "/",
    headers: { authorization: basic(VIEWER) },
  });
  assert.equal(page.headers["x-frame-options"], "DENY");
  assert.match(String(page.headers["content-security-policy"]), /frame-ancestors 'none'/);
  assert.match(String(page.headers["content-security-policy"]), /script-src 'self'/);
});

/** The status line the server answers a 50 MiB POST with while only its first 64 KiB were sent. */
function answerBeforeBody(headers: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(coord.port, "127.0.0.1");
    // The rest is never sent: a server that waits for it never answers, so a long wait costs nothing.
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error("no answer until the whole body is sent"));
    }, 60_000);
    s.on("error", reject);
    s.once("data", (d: Buffer) => {
      clearTimeout(timer);
      s.destroy();
      resolve(d.toString().split("\r\n")[0] ?? "");
    });
    s.write(
      `POST /RPC2 HTTP/1.1\r\nHost: 127.0.0.1:${coord.port}\r\nContent-Type: text/xml\r\n${headers}` +
        `Content-Length: ${50 * 1024 * 1024}\r\n\r\n`,
    );
    s.write(Buffer.alloc(64 * 1024, 0x61));
  });
}

test("unauthenticated bodies: wrong credentials are refused unread, none may send 64 KiB at most", async () => {
  // Answered from the headers alone: the server neither waits for nor parses the body.
  assert.match(await answerBeforeBody(`Authorization: ${basic("boss:nope")}\r\n`), /^HTTP\/1.1 401/);
  assert.match(await answerBeforeBody(""), /^HTTP\/1.1 401/);
  const before = rssKb(coord.process.pid as number);
  // Python writes its whole body before reading: it gets the 401, not a reset connection.
  const fromPython = await python<string>(
    `${PRELUDE}
try:
    hq.newjob({"name": "x", "command": "a" * (50 * 1024 * 1024)})
    out("accepted")
except xmlrpc.client.ProtocolError as e:
    out(str(e.errcode))`,
    { HQSERVER: coord.url },
  );
  assert.equal(fromPython, "401");
  // The body is read and dropped chunk by chunk; the dropped chunks await the next GC (up to 33 MB seen on a
  // loaded box), while a server that held the body would grow by its 50 MB and more.
  const grown = rssKb(coord.process.pid as number) - before;
  assert.ok(grown < 56 * 1024, `the server grew by ${grown} KiB: it held the body`);
  assert.equal(await python<boolean>(`${PRELUDE}out(hq.ping())`, { HQSERVER: coord.url }), true);
});

test("numbers a field cannot hold are Faults, and nothing is added", async () => {
  const r = await py<Record<string, { faultString: string } | null>>(`
out({
  "maxTime": fault(hq.newjob, {"name": "t", "command": "true", "maxTime": 1e12}),
  "priority": fault(hq.newjob, {"name": "p", "command": "true", "priority": 1e300}),
  "cpus": fault(hq.newjob, {"name": "c", "command": "true", "cpus": 1e6}),
  "triesLeft": fault(hq.newjob, {"name": "r", "command": "true", "triesLeft": 1e9}),
  "id": fault(hq.getJob, 1e300),
  "setPriority": fault(hq.setJobPriority, [1], 1e15),
})`);
  for (const [field, fault] of Object.entries(r)) assert.ok(fault, `${field} was accepted`);
  assert.match(r.priority?.faultString ?? "", /priority/);
  assert.match(r.maxTime?.faultString ?? "", /maxTime/);
  const jobs = await py<unknown[]>(`out(hq.getJobIdsByStatus(["queued", "running"]))`);
  assert.deepEqual(jobs, []);
});

test("WebSockets: a browser Origin on /agent and a foreign one on /ws/output are refused; unknown paths get 404", async () => {
  const status = (path: string, origin?: string) =>
    new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${coord.port}${path}`, {
        headers: { authorization: basic(VIEWER) },
        ...(origin ? { origin } : {}),
      });
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      ws.on("open", () => {
        ws.close();
        resolve(101);
      });
      ws.on("error", () => resolve(-1));
    });
  assert.equal(await status("/agent", "http://evil.example"), 403);
  assert.equal(await status("/ws/output/1", "http://evil.example"), 403);
  assert.equal(await status("/nope"), 404);
  assert.equal(await status("/ws/nope"), 404);
});

test("non-reading output viewers: the coordinator's memory stays bounded", async () => {
  const peer = new ProtocolPeer({
    serverUrl: coord.url,
    token: "farm-s3cret",
    mode: "hold",
    hostname: "chatty",
  });
  peers.push(await peer.connect());
  const [jobId] = await py<number[]>(`out(hq.newjob({"name": "chatty", "command": "yes"}))`);
  await peer.waitFor(() => peer.running.has(jobId as number));
  const chunk = "y\n".repeat(128 * 1024);
  for (let i = 0; i < 48; i++) peer.output(jobId as number, chunk); // 12 MiB
  const redis = new Redis(coord.redisUrl);
  try {
    await eventually(
      "the 12 MiB stored",
      async () =>
        Number(await redis.hget(coord.keys.jobLog(jobId as number, 1), "bytes")) >= 48 * chunk.length,
    );
  } finally {
    redis.disconnect();
  }
  const before = rssKb(coord.process.pid as number);
  const viewers: WebSocket[] = [];
  for (let i = 0; i < 3; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${coord.port}/ws/output/${jobId}?tail=100000000`, {
      headers: { authorization: basic(VIEWER) },
    });
    await new Promise((r) => ws.once("upgrade", r));
    (ws as unknown as { _socket: { pause(): void } })._socket.pause(); // never reads
    viewers.push(ws);
  }
  for (let i = 0; i < 32; i++) peer.output(jobId as number, chunk); // still producing
  await new Promise((r) => setTimeout(r, 6000));
  const grown = rssKb(coord.process.pid as number) - before;
  assert.ok(grown < 40 * 1024, `coordinator grew ${Math.round(grown / 1024)} MB with 3 non-reading viewers`);
  // The reply cap: the job's output is over REPLY_CAP, so getJobOutput answers a clear Fault.
  const fault = await py<string>(`
try:
    hq.getJobOutput(${jobId})
    out("no fault")
except xmlrpc.client.Fault as f:
    out(f.faultString)`);
  assert.match(fault, new RegExp(`over the ${REPLY_CAP}-byte limit`));
  for (const ws of viewers) ws.terminate();
});

test("shutdown completes within a bound with unanswered-looking sockets open", async () => {
  const sockets: Socket[] = [];
  for (const path of ["/nope", "/agent"]) {
    const s = connect(coord.port, "127.0.0.1");
    s.on("error", () => {});
    s.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    sockets.push(s);
  }
  const answer = await new Promise<string>((r) => sockets[0]?.once("data", (d: Buffer) => r(d.toString())));
  assert.match(answer, /^HTTP\/1.1 404/);
  await new Promise((r) => setTimeout(r, 300));
  const started = Date.now();
  const exited = new Promise<number | null>((r) => coord.process.once("exit", (code) => r(code)));
  coord.process.kill("SIGTERM");
  const code = await exited;
  assert.ok(Date.now() - started < 12_000, `shutdown took ${Date.now() - started} ms`);
  assert.equal(code, 0);
  for (const s of sockets) s.destroy();
});
