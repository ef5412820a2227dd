// Issue 21, findings 6 and 7 and the DNS aliases, against a real coordinator with the default configuration:
// scripts reach the farm by any Host name, a flood before `hello` and a slowloris run stay bounded, and
// nobody forges log lines or wipes the server error list.

import { test } from "node:test";
import assert from "node:assert/strict";
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
