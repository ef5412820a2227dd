// Issue 21, findings 6 and 7 and the DNS aliases, against a real coordinator with the default configuration:
// scripts reach the farm by any Host name, a flood before `hello` and a slowloris run stay bounded, and
// nobody forges log lines or wipes the server error list.

import { test } from "node:test";
import assert from "node:assert/strict";
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
