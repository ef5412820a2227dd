// Issue 21 item 1 and issue 22 item 2: TLS end to end for the admin's path and for upgrades, with an attacker
// on it. A farm CA signs the coordinator's certificate and, worst case, the certificate of a man in the
// middle too (a CA that issued one certificate too many, a TLS-inspecting proxy): the agent is installed by
// the exact line the https:// /install page shows (--cacert and --ca-file), through that proxy, and joins
// over wss://. An honest upgradeClients goes over https:// with the agent's CA; then the proxy answers the
// next upgrade with its own agent file (and a sha256 that matches it): the agent refuses it, because it is
// not signed by the farm key pinned at install, and keeps running its old code. Each client's upgrade state
// (getClients extension `upgradeState`) tells upgraded, failed with the agent's reason, or not connected.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, request, type Server } from "node:https";
import type { IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCoordinator } from "./support/coordinator.js";
import { freePort } from "./support/ports.js";
import { alive } from "./support/processes.js";
import { makeCa } from "./support/pki.js";
import { PRELUDE, python } from "./support/python.js";

const root = process.cwd();
const SECRET = "tls-farm-secret";

/** A CA, and certificates for 127.0.0.1 it signed: `names` -> {cert, key} paths. */
function makePki(
  dir: string,
  names: string[],
): { ca: string; certs: Record<string, { cert: string; key: string }> } {
  const pki = makeCa(dir);
  const certs: Record<string, { cert: string; key: string }> = {};
  for (const name of names) certs[name] = pki.issue(name, "IP:127.0.0.1,DNS:localhost");
  return { ca: pki.ca, certs };
}

function buildInstallDir(dir: string, version: string): void {
  execFileSync(process.execPath, [join(root, "scripts/bundle.mjs"), dir, version], { stdio: "pipe" });
}

interface Proxy {
  url: string;
  /** When set, GET /install/openhq-agent.mjs is answered with this file (and .sha256 with its digest). */
  evil: Buffer | null;
  server: Server;
}

/** An HTTPS proxy in front of the coordinator (requests and the /agent WebSocket). */
async function startProxy(target: number, ca: string, cert: { cert: string; key: string }): Promise<Proxy> {
  const caPem = readFileSync(ca);
  const proxy: Proxy = { url: "", evil: null, server: null as unknown as Server };
  const server = createServer({ cert: readFileSync(cert.cert), key: readFileSync(cert.key) }, (req, res) => {
    if (proxy.evil !== null && req.url === "/install/openhq-agent.mjs") {
      res.end(proxy.evil);
      return;
    }
    if (proxy.evil !== null && req.url === "/install/openhq-agent.mjs.sha256") {
      res.end(`${createHash("sha256").update(proxy.evil).digest("hex")}  openhq-agent.mjs\n`);
      return;
    }
    const upstream = request(
      { host: "127.0.0.1", port: target, path: req.url, method: req.method, headers: req.headers, ca: caPem },
      (answer: IncomingMessage) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  server.on("upgrade", (req: IncomingMessage, socket, head: Buffer) => {
    const upstream = connect({ host: "127.0.0.1", port: target, ca: caPem, servername: "localhost" }, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2)
        lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
      upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on("error", () => socket.destroy());
    socket.on("error", () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  proxy.server = server;
  proxy.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}

/** The proxy runs in this process: the clients that go through it must not block its event loop. */
const run = promisify(execFile);

async function curlText(url: string, ca: string): Promise<string> {
  return (await run("curl", ["-fsS", "--cacert", ca, url], { encoding: "utf8" })).stdout;
}

test("over TLS: the page's line installs through a proxy, upgrades are signed, a tampered upgrade is refused", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "openhq-tls-upgrade-"));
  const { ca, certs } = makePki(dir, ["coordinator", "mitm"]);
  const served = join(dir, "served");
  const prefix = join(dir, "prefix");
  buildInstallDir(served, "1.0.0-old");
  const coordinator = await startCoordinator({
    https: true,
    env: {
      OPENHQ_TLS_CERT: certs["coordinator"]?.cert ?? "",
      OPENHQ_TLS_KEY: certs["coordinator"]?.key ?? "",
      OPENHQ_INSTALL_DIR: served,
      OPENHQ_FARM_SECRET: SECRET,
      OPENHQ_HEARTBEAT_INTERVAL: "300",
    },
  });
  const proxy = await startProxy(coordinator.port, ca, certs["mitm"] ?? { cert: "", key: "" });
  const pidfile = join(prefix, "var/lib/openhq-agent/agent-loop.pid");
  t.after(async () => {
    if (existsSync(pidfile)) {
      const pid = Number(readFileSync(pidfile, "utf8"));
      if (alive(pid)) process.kill(pid, "SIGTERM");
    }
    proxy.server.closeAllConnections();
    proxy.server.close();
    await coordinator.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const clients = (code: string) =>
    python<Record<string, unknown>[]>(
      `${PRELUDE}import ssl, time
ctx = ssl.create_default_context(cafile=os.environ["CA"])
hq = xmlrpc.client.ServerProxy(os.environ["HQSERVER"], allow_none=True, context=ctx)
${code}`,
      { HQSERVER: coordinator.url, CA: ca },
    );
  const waitVersion = (version: string) =>
    clients(`
deadline = time.time() + 90
while True:
    cs = hq.getClients(None, ["id", "version", "upgradeState"])
    if any(c["version"] == ${JSON.stringify(version)} for c in cs) or time.time() > deadline: break
    time.sleep(0.1)
out(cs)`);

  // The page, reached over https:// (through the proxy), shows the https:// line with the CA options.
  const page = await curlText(`${proxy.url}/install`, ca);
  const code = /<pre class="install-line"><code>(curl [^<]*)<\/code><\/pre>/.exec(page)?.[1];
  assert.ok(code !== undefined, page);
  const line = code.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)));
  assert.equal(
    line,
    `curl -fsSL --cacert /etc/openhq/farm-ca.pem ${proxy.url}/install/agent.sh | sudo sh -s -- --ca-file /etc/openhq/farm-ca.pem --secret FARM-SECRET`,
  );
  const script = await curlText(`${proxy.url}/install/agent.sh`, ca);
  assert.ok(script.includes(`url="${proxy.url}"`), "the served agent.sh has the https:// URL built in");

  const clientPort = String(await freePort());
  const command = line
    .replaceAll("/etc/openhq/farm-ca.pem", ca)
    .replace("FARM-SECRET", SECRET)
    .replace("| sudo sh", "| sh");
  const installed = await run(
    "sh",
    ["-c", `${command} --no-service --prefix '${prefix}' --client-port ${clientPort} --name blade`],
    { encoding: "utf8", timeout: 120_000 },
  );
  assert.match(installed.stdout, /installed the agent 1\.0\.0-old/, installed.stdout + installed.stderr);
  const ini = readFileSync(join(prefix, "etc/openhq/hqnode.ini"), "utf8");
  assert.ok(ini.includes(`server = ${proxy.url}\n`), ini);
  assert.ok(ini.includes(`caFile = ${ca}\n`), ini);
  const pinned = /^signingKey = (\S+)$/m.exec(ini)?.[1];
  assert.ok(pinned !== undefined, ini);
  let seen = await waitVersion("1.0.0-old");
  assert.deepEqual(
    seen.map((c) => c["version"]),
    ["1.0.0-old"],
  );
  const id = Number(seen[0]?.["id"]);

  // An honest upgradeClients goes over https:// with the agent's CA and a valid signature.
  buildInstallDir(served, "1.0.1-signed");
  await clients(`hq.upgradeClients([${id}]); out([])`);
  seen = await waitVersion("1.0.1-signed");
  assert.deepEqual(
    seen.map((c) => c["version"]),
    ["1.0.1-signed"],
  );
  assert.equal(seen[0]?.["upgradeState"], "upgraded");
  const agentFile = join(prefix, "lib/openhq-agent/openhq-agent.mjs");
  const signedDigest = createHash("sha256").update(readFileSync(agentFile)).digest("hex");

  // The man in the middle serves its own agent, with a matching sha256.
  const marker = join(dir, "pwned");
  proxy.evil = Buffer.from(
    `import { writeFileSync } from "node:fs";\nwriteFileSync(${JSON.stringify(marker)}, "pwned");\n`,
  );
  buildInstallDir(served, "1.0.2-real");
  const log = join(prefix, "var/log/openhq/agent.log");
  const welcomes = () => [...readFileSync(log, "utf8").matchAll(/welcomed as client/g)].length;
  const before = welcomes();
  await clients(`hq.upgradeClients([${id}]); out([])`);
  const deadline = Date.now() + 90_000;
  while (!/not signed by the farm's key/.test(readFileSync(log, "utf8")) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 200));
  assert.match(
    readFileSync(log, "utf8"),
    /upgrade failed, restarting on the current code: the downloaded agent is not signed by the farm's key/,
  );
  assert.equal(
    createHash("sha256").update(readFileSync(agentFile)).digest("hex"),
    signedDigest,
    "the file is untouched",
  );
  // It restarted on its own code and is back in the farm; the attacker's code never ran.
  const back = Date.now() + 60_000;
  while (welcomes() <= before && Date.now() < back) await new Promise((r) => setTimeout(r, 200));
  assert.ok(welcomes() > before, "the agent joined again on its own code");
  seen = await waitVersion("1.0.1-signed");
  assert.deepEqual(
    seen.map((c) => c["version"]),
    ["1.0.1-signed"],
  );
  assert.ok(!existsSync(marker), "the tampered agent never ran");
  // The failure is the client's upgrade state on the coordinator, with the agent's reason.
  const state = await clients(`
deadline = time.time() + 30
while True:
    s = hq.getClient(${id}, ["upgradeState"])["upgradeState"]
    if s != "pending" or time.time() > deadline: break
    time.sleep(0.1)
out([{"upgradeState": s}])`);
  assert.match(
    String(state[0]?.["upgradeState"]),
    /^failed: the downloaded agent is not signed by the farm's key/,
  );

  // An agent that cannot be reached: upgradeClients says so at once.
  process.kill(Number(readFileSync(pidfile, "utf8")), "SIGTERM");
  const gone = await clients(`
deadline = time.time() + 60
while hq.getClient(${id}, ["connected"])["connected"] and time.time() < deadline:
    time.sleep(0.1)
hq.upgradeClients([${id}])
out([hq.getClient(${id}, ["upgradeState"])])`);
  assert.equal(gone[0]?.["upgradeState"], "failed: not connected");
});
