// Issue 21, findings 6 and 7 and the DNS aliases, against a real coordinator with the default configuration:
// scripts reach the farm by any Host name, a flood before `hello` and a slowloris run stay bounded, and
// nobody forges log lines or wipes the server error list.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import WebSocket from "ws";
import { PROTOCOL_VERSION } from "../shared/protocol.js";
import { useCoordinator } from "./support/coordinator-fixture.js";
import { python } from "./support/python.js";

const farm = useCoordinator();

test("aliases: XML-RPC ping with Host: hqueue:5000 and no Origin is answered; a browser's is not", async () => {
  const answers = await python<unknown[]>(
    `
import http.client, json, os, socket, xmlrpc.client
port = int(os.environ["PORT"])
class Aliased(http.client.HTTPConnection):
    # Sends Host: hqueue:5000 as a studio's DNS alias would, but reaches the test coordinator.
    def connect(self):
        self.sock = socket.create_connection(("127.0.0.1", port))
class Transport(xmlrpc.client.Transport):
    def make_connection(self, host):
        self._connection = host, Aliased(host)
        return self._connection[1]
hq = xmlrpc.client.ServerProxy("http://hqueue:5000", transport=Transport(), allow_none=True)
answers = [hq.ping(), hq.getVersion() is not None]
conn = Aliased("hqueue:5000")
conn.request("POST", "/RPC2", xmlrpc.client.dumps((), "ping"),
             {"Origin": "http://hqueue:5000", "Content-Type": "text/xml"})
answers.append(conn.getresponse().status)
print(json.dumps(answers))`,
    { PORT: String(farm.coordinator.port) },
  );
  assert.deepEqual(answers, [true, true, 403]);
});

/** Opens /agent from a loopback address and says `hello` with a wrong secret; resolves once refused. */
function refusedHello(hostname: string, localAddress = "127.0.0.1"): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${farm.coordinator.port}/agent`, { localAddress });
    ws.on("open", () =>
      ws.send(
        JSON.stringify({
          type: "hello",
          protocol: PROTOCOL_VERSION,
          token: "not-the-secret",
          hostname,
          name: "",
          version: "0",
          platform: "linux",
          arch: "x64",
          ip: "",
          cpus: 1,
          cpuSpeed: 0,
          memory: 0,
          clientPort: 5001,
          availabilityRules: [],
        }),
      ),
    );
    ws.on("error", () => resolve());
    ws.on("close", () => resolve());
  });
}

test("log forging: a hostname with newlines stays one escaped line; one source cannot wipe the error list", async () => {
  const forged = "2030-01-01T00:00:00.000Z agent root connected as client 1";
  await refusedHello("victim", "127.0.0.9");
  await refusedHello(`evil\n${forged}\r\u001b[2J\u2028x`);
  const errorList = () => farm.py<{ message: string }[]>("out(hq.getServerErrors().get('errors', []))");
  const marker = (await errorList()).length;
  assert.ok(marker >= 2, `${marker} server errors recorded`);
  // A flood of refused hellos from one address.
  for (let batch = 0; batch < 4; batch++)
    await Promise.all(Array.from({ length: 30 }, (_, i) => refusedHello(`flood-${batch}-${i}`)));
  await refusedHello("after the flood", "127.0.0.10");
  const errors = await errorList();
  const text = JSON.stringify(errors);
  assert.ok(errors.length <= marker + 12, `${errors.length - marker} records from one flooding address`);
  assert.match(text, /victim/, "the other source's record is still there");
  assert.match(text, /after the flood/, "other sources are still recorded");
  assert.match(text, /evil\\\\n2030/, "the newline is escaped in the record");
  const lines = farm.coordinator.output().split("\n");
  assert.ok(!lines.some((l) => l.startsWith(forged)), "no forged line in the log");
  assert.ok(lines.some((l) => l.includes("evil\\n2030") && l.includes("\\r\\u001b[2J\\u2028x")));
  assert.ok(
    lines.filter((l) => l.includes("refused agent flood-")).length <= 12,
    "the flood's log lines are rate-limited",
  );
});

const UPGRADE =
  "GET /agent HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/** A raw socket to the coordinator from a loopback address; resolves with the first answer (or "" if closed). */
function rawSocket(localAddress: string, first: string): Promise<{ socket: Socket; answer: string }> {
  return new Promise((resolve) => {
    const socket = connect({ port: farm.coordinator.port, host: "127.0.0.1", localAddress });
    socket.on("error", () => {});
    socket.once("data", (d: Buffer) => resolve({ socket, answer: d.toString("latin1") }));
    socket.once("close", () => resolve({ socket, answer: "" }));
    socket.on("connect", () => socket.write(first));
  });
}

const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) / 1024;

test("pre-hello flood: 64 MiB messages are cut at a few KiB, and unwelcomed sockets are capped", async () => {
  const pid = farm.coordinator.process.pid as number;
  const before = rssMb(pid);
  // Eight sockets each announce a 64 MiB text frame and send 16 MiB of it, with no hello.
  const header = Buffer.from([0x81, 0xff, 0, 0, 0, 0, 4, 0, 0, 0, 1, 2, 3, 4]); // FIN text, masked, 2^26
  const chunk = Buffer.alloc(1024 * 1024, 0x61);
  const cut = await Promise.all(
    Array.from({ length: 8 }, async () => {
      const { socket, answer } = await rawSocket("127.0.0.1", UPGRADE);
      assert.match(answer, /^HTTP\/1.1 101/);
      socket.write(header);
      for (let i = 0; i < 16 && !socket.destroyed; i++) {
        socket.write(chunk);
        await new Promise((r) => setTimeout(r, 10));
      }
      await new Promise((r) => (socket.destroyed ? r(null) : socket.once("close", r)));
      return true;
    }),
  );
  assert.equal(cut.length, 8, "every flooding socket was closed by the coordinator");
  const grown = rssMb(pid) - before;
  assert.ok(grown < 40, `the coordinator grew ${grown.toFixed(0)} MB`);

  // 600 sockets that upgrade and never say hello, from three addresses: at most 512 are held (and at most
  // 256 from one address); the rest are refused at once.
  const idle = await Promise.all(
    ["127.0.0.11", "127.0.0.12", "127.0.0.13"].flatMap((address) =>
      Array.from({ length: 200 }, () => rawSocket(address, UPGRADE)),
    ),
  );
  const held = idle.filter((s) => s.answer.startsWith("HTTP/1.1 101")).length;
  const refused = idle.filter((s) => !s.answer.startsWith("HTTP/1.1 101")).length;
  assert.ok(held <= 512, `${held} unwelcomed agent sockets held`);
  assert.ok(refused >= 600 - 512, `${refused} refused`);
  for (const s of idle) s.socket.destroy();
  assert.equal(await farm.py<boolean>("out(hq.ping())"), true);
});

test("slowloris from one address: ping from another loopback address still answers", async () => {
  const pid = farm.coordinator.process.pid as number;
  // As a box with the usual 1024 file handles would be; the attack is 1,200 slow connections.
  execFileSync("prlimit", ["--nofile=1024:1024", "--pid", String(pid)]);
  const fdsBefore = readdirSync(`/proc/${pid}/fd`).length;
  const slow: Socket[] = [];
  const trickle = setInterval(() => {
    for (const s of slow) if (!s.destroyed) s.write("X-Slow: 1\r\n");
  }, 1000);
  try {
    await Promise.all(
      Array.from(
        { length: 1200 },
        () =>
          new Promise<void>((resolve) => {
            const s = connect({ port: farm.coordinator.port, host: "127.0.0.1", localAddress: "127.0.0.1" });
            s.on("error", () => resolve());
            s.on("close", () => resolve());
            s.on("connect", () => {
              s.write("POST /RPC2 HTTP/1.1\r\nHost: 127.0.0.1\r\n");
              resolve();
            });
            slow.push(s);
          }),
      ),
    );
    await new Promise((r) => setTimeout(r, 1500));
    const held = readdirSync(`/proc/${pid}/fd`).length - fdsBefore;
    assert.ok(held <= 256 + 8, `the coordinator holds ${held} of the attacker's connections`);
    const pings = await python<unknown[]>(
      `
import http.client, json, os, xmlrpc.client
class FromElsewhere(xmlrpc.client.Transport):
    def make_connection(self, host):
        self._connection = host, http.client.HTTPConnection(host, timeout=10, source_address=("127.0.0.2", 0))
        return self._connection[1]
hq = xmlrpc.client.ServerProxy(os.environ["HQSERVER"], transport=FromElsewhere())
print(json.dumps([hq.ping() for _ in range(5)]))`,
      { HQSERVER: farm.coordinator.url },
      30_000,
    );
    assert.deepEqual(pings, [true, true, true, true, true]);
  } finally {
    clearInterval(trickle);
    for (const s of slow) s.destroy();
  }
});
