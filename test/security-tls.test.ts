// TLS between agent and coordinator (issue 9, deliverable 2): a self-signed certificate made here with
// openssl, a coordinator serving https:// and wss:// (openhq.tlsCert/tlsKey), a real agent given an
// https:// server and the certificate as its CA file, Python's xmlrpc.client over HTTPS as the client.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgent, type TestAgent } from "./support/agent.js";
import { startCoordinator, type TestCoordinator } from "./support/coordinator.js";
import { eventually } from "./support/eventually.js";
import { PRELUDE, python } from "./support/python.js";

let dir: string;
let coordinator: TestCoordinator;
let url: string;
const agents: TestAgent[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "openhq-tls-"));
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
    "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
  ], { stdio: "ignore" }); // prettier-ignore
  coordinator = await startCoordinator({
    https: true,
    env: {
      OPENHQ_TLS_CERT: join(dir, "cert.pem"),
      OPENHQ_TLS_KEY: join(dir, "key.pem"),
      OPENHQ_HEARTBEAT_INTERVAL: "300",
    },
  });
  url = coordinator.url;
});

after(async () => {
  for (const agent of agents) await agent.stop();
  await coordinator.stop();
  rmSync(dir, { recursive: true, force: true });
});

const TLS_PRELUDE = `import ssl, xmlrpc.client, os
ctx = ssl.create_default_context(cafile=os.environ["CA"])
`;
const py = <T>(code: string) =>
  python<T>(
    `${PRELUDE}${TLS_PRELUDE}hq = xmlrpc.client.ServerProxy(os.environ["HQSERVER"], allow_none=True, context=ctx)\n${code}`,
    {
      HQSERVER: url,
      CA: join(dir, "cert.pem"),
    },
  );

test("an agent given https:// and the CA file joins over wss:// and runs a job; HQSERVER is https://", async () => {
  const agent = await startAgent({ serverUrl: url, name: "tls", args: ["--ca-file", join(dir, "cert.pem")] });
  agents.push(agent);
  const result = await py<{ status: string; output: string }>(`
import time
jid = hq.newjob({"name": "over tls", "command": "echo secure $HQSERVER"})[0]
for _ in range(600):
    s = hq.getJob(jid, ["status"])["status"]
    if s in ("succeeded", "failed", "cancelled", "abandoned"): break
    time.sleep(0.05)
out({"status": s, "output": hq.getJobOutput(jid)})`);
  assert.equal(result.status, "succeeded", agent.output());
  assert.match(result.output, /^secure https:\/\//);
});

test("an agent without the CA file does not trust the self-signed coordinator and never joins", async () => {
  const agent = await startAgent({ serverUrl: url, name: "untrusting" });
  agents.push(agent);
  // Its first connection attempt fails on the certificate (the agent says so); only then is "never joins" known.
  await eventually("the agent's certificate error", () =>
    /cannot connect .*certificate/.test(agent.output()),
  );
  const labels = await py<string[]>(`out([c["label"] for c in hq.getClients()])`);
  assert.ok(!labels.some((l) => l.endsWith(":untrusting")), JSON.stringify(labels));
});
