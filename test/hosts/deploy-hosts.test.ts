// The admin's path on real hosts (issue 22): `npm run test:hosts`, run by scripts/test-hosts.ts, not by
// `npm test`. Network namespaces on a private LAN (test/support/netns.ts) play the machines: a coordinator
// host (farm-hq, with its own private redis-server), two blades (blade1, blade2), an admin workstation
// (admin-ws) and a second coordinator host (farm-hq2) to move to. Everything follows docs/ADMIN.md:
//   1. plain HTTP: the admin reads the install line from /install (logged in), each blade runs it
//      (--no-service, a temporary --prefix); a job tree runs across both blades (Python xmlrpc.client);
//   2. TLS with a private CA: an openssl CA and a certificate for farm-hq's address; the same line, now
//      https:// with --cacert/--ca-file, switches each blade's hqnode.ini; the job tree again, over TLS;
//   3. upgradeClients over TLS: both blades `upgraded`; a stopped blade is `failed: not connected`;
//   4. the coordinator moved to farm-hq2 (its data folder copied, a certificate for the new address): one
//      blade follows by the new page's line, the other by editing `server` and restarting (§10); both are
//      back under their old client ids and run the tree;
//   5. a blade removed for good (`openhq remove`): its record is gone, its agent's credential is refused,
//      and `--uninstall` leaves nothing running on it.
// Whatever happens, t.after (or the exit handler) kills what runs on the hosts and deletes them.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { CA_FILE_PLACEHOLDER } from "../../coordinator/web/install.js";
import { startCoordinator, type TestCoordinator } from "../support/coordinator.js";
import { makeLan, namespacesUnavailable, type Host } from "../support/netns.js";
import { makeCa } from "../support/pki.js";
import { PRELUDE, python } from "../support/python.js";

const run = promisify(execFile);
const root = join(import.meta.dirname, "../..");
const SECRET = `farm-${randomBytes(12).toString("hex")}`;
const ADMIN = "admin";
const ADMIN_PASSWORD = `pw-${randomBytes(6).toString("hex")}`;
const FIRST = "1.0.0-hosts";
const NEXT = "1.0.1-hosts";

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

test("a farm on separate hosts, as docs/ADMIN.md runs it: install, TLS, upgrades, a move, a removal", async (t) => {
  // Never a silent pass: scripts/test-hosts.ts skips (with its own exit status) before this file runs.
  const unavailable = namespacesUnavailable();
  assert.equal(unavailable, null, `cannot make hosts: ${unavailable}`);

  const dir = mkdtempSync(join(tmpdir(), "openhq-hosts-"));
  const lan = makeLan();
  const teardownOnExit = () => lan.teardown();
  process.once("exit", teardownOnExit);
  let coordinator: TestCoordinator | null = null;
  t.after(async () => {
    await coordinator?.stop();
    lan.teardown();
    process.off("exit", teardownOnExit);
    rmSync(dir, { recursive: true, force: true });
  });
  const ws = lan.addHost("ws", "admin-ws", 5);
  const hq = lan.addHost("hq", "farm-hq", 10);
  const hq2 = lan.addHost("hq2", "farm-hq2", 20);
  const blades = [lan.addHost("b1", "blade1", 11), lan.addHost("b2", "blade2", 12)] as const;
  const [blade1, blade2] = blades;

  // What the coordinators serve at /install: this build, and a newer one for upgradeClients.
  const served = join(dir, "served");
  const newer = join(dir, "newer");
  await Promise.all(
    [
      [served, FIRST],
      [newer, NEXT],
    ].map(([to, version]) =>
      run(process.execPath, [join(root, "scripts/bundle.mjs"), to as string, version as string]),
    ),
  );
  const users = join(dir, "users");
  writeFileSync(users, `${ADMIN}:admin:${ADMIN_PASSWORD}\n`);
  const pki = makeCa(join(dir, "pki"));

  /** The coordinator on `host`, with its private Redis in `data`, HTTPS when given a certificate. */
  const startHq = (host: Host, data: string, tls: { cert: string; key: string } | null) => {
    const ini = join(dir, `${host.hostname}.ini`);
    const scheme = tls === null ? "http" : "https";
    writeFileSync(
      ini,
      [
        "[main]",
        "openhq.auth = on",
        `openhq.auth.usersFile = ${users}`,
        `openhq.serverUrl = ${scheme}://${host.ip}:5000`,
        ...(tls === null ? [] : [`openhq.tlsCert = ${tls.cert}`, `openhq.tlsKey = ${tls.key}`]),
        "",
      ].join("\n"),
    );
    return startCoordinator({
      embedded: true,
      host: host.ip,
      port: 5000,
      https: tls !== null,
      wrap: host.wrap,
      args: ["--config", ini, "--data", data, "--prefix", "hq:"],
      env: { OPENHQ_INSTALL_DIR: served, OPENHQ_FARM_SECRET: SECRET, OPENHQ_HEARTBEAT_INTERVAL: "500" },
    });
  };

  /** Python (xmlrpc.client, as HQueue scripts) on the admin's workstation, logged in as the admin. */
  const adminPy = <T>(code: string, ca?: string): Promise<T> => {
    const url = (coordinator?.url ?? "").replace("://", `://${ADMIN}:${ADMIN_PASSWORD}@`);
    const tls =
      ca === undefined
        ? ""
        : `import ssl\nhq = xmlrpc.client.ServerProxy(os.environ["HQSERVER"], allow_none=True, context=ssl.create_default_context(cafile=os.environ["CA"]))\n`;
    return python<T>(PRELUDE + tls + code, { HQSERVER: url, CA: ca ?? "" }, 180_000, ws.wrap);
  };

  /** The Linux line of /install, as the admin sees it in a browser on the workstation. */
  const installLine = async (ca?: string): Promise<string> => {
    const page = await ws.exec([
      "curl", "-fsS", ...(ca === undefined ? [] : ["--cacert", ca]), "-u", `${ADMIN}:${ADMIN_PASSWORD}`,
      `${coordinator?.url}/install`,
    ]); // prettier-ignore
    const code = /<pre class="install-line"><code>(curl [^<]*)<\/code><\/pre>/.exec(page)?.[1];
    assert.ok(code !== undefined, page);
    return code.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)));
  };

  const prefixOf = (blade: Host) => join(dir, blade.hostname);
  const iniOf = (blade: Host) => join(prefixOf(blade), "etc/openhq/hqnode.ini");
  const logOf = (blade: Host) => readFileSync(join(prefixOf(blade), "var/log/openhq/agent.log"), "utf8");

  /**
   * Runs the page's line on a blade, as root (no sudo there), with --no-service and a temporary prefix. The
   * farm CA goes where the page says to copy it, inside that prefix.
   */
  const install = async (blade: Host, line: string, ...extra: string[]): Promise<string> => {
    const prefix = prefixOf(blade);
    let command = line.replace("| sudo sh", "| sh");
    if (command.includes(CA_FILE_PLACEHOLDER)) {
      const ca = join(prefix, CA_FILE_PLACEHOLDER);
      mkdirSync(join(ca, ".."), { recursive: true });
      cpSync(pki.ca, ca);
      command = command.replaceAll(CA_FILE_PLACEHOLDER, ca);
    }
    const args = ["--no-service", "--prefix", prefix, ...extra].map(shellQuote).join(" ");
    return blade.exec(["sh", "-c", `${command} ${args}`], { timeoutMs: 180_000 });
  };

  interface ClientSeen {
    id: number;
    hostname: string;
    connected: boolean;
    version: string;
    upgradeState: string;
  }
  /** The clients, once `ready` (a Python expression over `cs`) holds, or after 90 s. */
  const clientsWhen = (ready: string, ca?: string) =>
    adminPy<ClientSeen[]>(
      `import time
deadline = time.time() + 90
while True:
    cs = hq.getClients(None, ["id", "hostname", "connected", "version", "upgradeState"])
    if (${ready}) or time.time() > deadline: break
    time.sleep(0.2)
out(sorted(cs, key=lambda c: c["hostname"]))`,
      ca,
    );
  const bothOn = (version: string) =>
    `sorted(c["hostname"] for c in cs if c["connected"] and c["version"] == ${JSON.stringify(version)}) == ["blade1", "blade2"]`;

  /** A parent and two children pinned one to each blade; returns what each printed (its host name). */
  const runTree = async (ca?: string) => {
    const result = await adminPy<{ status: string; outputs: Record<string, string> }>(
      `import time
root = hq.newjob({"name": "tree", "command": "hostname", "children": [
    {"name": "on blade1", "command": "hostname", "host": "blade1"},
    {"name": "on blade2", "command": "hostname", "host": "blade2"}]})[0]
deadline = time.time() + 90
while hq.getJob(root, ["status"])["status"] not in ("succeeded", "failed", "cancelled", "abandoned") and time.time() < deadline:
    time.sleep(0.1)
job = hq.getJob(root, ["status", "children"])
out({"status": job["status"],
     "outputs": {hq.getJob(c, ["name"])["name"]: hq.getJobOutput(c).strip() for c in job["children"]}})`,
      ca,
    );
    assert.deepEqual(result, {
      status: "succeeded",
      outputs: { "on blade1": "blade1", "on blade2": "blade2" },
    });
  };

  /** The `openhq` command on the admin's workstation, as the admin (the farm CA as docs/ADMIN.md §3 says). */
  const cli = (...args: string[]) =>
    ws.exec(
      [process.execPath, "--import", "tsx", join(root, "cli/main.ts"), "--server",
        (coordinator?.url ?? "").replace("://", `://${ADMIN}:${ADMIN_PASSWORD}@`), ...args],
      { env: { ...process.env, NODE_EXTRA_CA_CERTS: pki.ca } },
    ); // prettier-ignore

  /** Waits (up to a minute) until `condition` holds, and fails when it does not. */
  const until = async (condition: () => boolean) => {
    const deadline = Date.now() + 60_000;
    while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.ok(condition(), String(condition));
  };

  let ids: Record<string, number> = {};
  const timings: string[] = [];
  const step = async (name: string, body: () => Promise<void>) => {
    const started = Date.now();
    await t.test(name, body);
    timings.push(`${name}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  };

  await step("plain HTTP: the page's line installs both blades; a job tree runs across them", async () => {
    coordinator = await startHq(hq, join(dir, "hq-data"), null);
    const line = await installLine();
    assert.equal(
      line,
      `curl -fsSL -u openhq-agent:${SECRET} http://${hq.ip}:5000/install/agent.sh | sudo sh -s -- --secret ${SECRET}`,
    );
    const outputs = await Promise.all(blades.map((b) => install(b, line)));
    for (const [i, output] of outputs.entries()) {
      assert.match(output, new RegExp(`installed the agent ${FIRST}`), output);
      const ini = readFileSync(iniOf(blades[i] as Host), "utf8");
      assert.ok(ini.includes(`server = http://${hq.ip}:5000\n`), ini);
    }
    const clients = await clientsWhen(bothOn(FIRST));
    assert.deepEqual(
      clients.map((c) => [c.hostname, c.connected, c.version]),
      [
        ["blade1", true, FIRST],
        ["blade2", true, FIRST],
      ],
    );
    ids = Object.fromEntries(clients.map((c) => [c.hostname, c.id]));
    await runTree();
  });

  const ca = pki.ca;
  await step("TLS with a private CA: the same line, now https://, switches each blade", async () => {
    await coordinator?.stop();
    coordinator = await startHq(hq, join(dir, "hq-data"), pki.issue("farm-hq", `IP:${hq.ip}`));
    const line = await installLine(ca);
    assert.equal(
      line,
      `curl -fsSL --cacert ${CA_FILE_PLACEHOLDER} -u openhq-agent:${SECRET} https://${hq.ip}:5000/install/agent.sh | sudo sh -s -- --ca-file ${CA_FILE_PLACEHOLDER} --secret ${SECRET}`,
    );
    const outputs = await Promise.all(blades.map((b) => install(b, line)));
    for (const [i, output] of outputs.entries()) {
      const blade = blades[i] as Host;
      assert.match(output, new RegExp(`updated server in .*: http://${hq.ip}:5000 -> https://${hq.ip}:5000`));
      const ini = readFileSync(iniOf(blade), "utf8");
      assert.ok(ini.includes(`server = https://${hq.ip}:5000\n`), ini);
      assert.ok(ini.includes(`caFile = ${join(prefixOf(blade), CA_FILE_PLACEHOLDER)}\n`), ini);
    }
    const clients = await clientsWhen(bothOn(FIRST), ca);
    assert.deepEqual(Object.fromEntries(clients.map((c) => [c.hostname, c.id])), ids, "the same clients");
    await runTree(ca);
  });

  await step("upgradeClients over TLS: upgraded; a stopped agent is reported failed", async () => {
    cpSync(newer, served, { recursive: true });
    await adminPy(`hq.upgradeClients(${JSON.stringify(Object.values(ids))}); out(True)`, ca);
    const clients = await clientsWhen(
      `${bothOn(NEXT)} and all(c["upgradeState"] == "upgraded" for c in cs)`,
      ca,
    );
    assert.deepEqual(
      clients.map((c) => [c.hostname, c.version, c.upgradeState]),
      [
        ["blade1", NEXT, "upgraded"],
        ["blade2", NEXT, "upgraded"],
      ],
    );
    // Stopped as §3 says (no service manager): kill the loop's pid. Nothing of the agent is left running.
    const pidfile = join(prefixOf(blade2), "var/lib/openhq-agent/agent-loop.pid");
    await blade2.exec(["sh", "-c", `kill "$(cat ${shellQuote(pidfile)})"`]);
    const gone = await clientsWhen(`not any(c["connected"] for c in cs if c["hostname"] == "blade2")`, ca);
    assert.equal(gone.find((c) => c.hostname === "blade2")?.connected, false);
    await until(() => blade2.pids().length === 0); // stopping the loop stopped the agent
    const state = await adminPy<string>(
      `hq.upgradeClients([${ids["blade2"]}]); out(hq.getClient(${ids["blade2"]}, ["upgradeState"])["upgradeState"])`,
      ca,
    );
    assert.equal(state, "failed: not connected");
  });

  await step("the coordinator moves to farm-hq2; the blades follow and keep their ids", async () => {
    // §10 with the private redis-server: stop the coordinator, copy its data folder whole, start it there.
    await coordinator?.stop();
    coordinator = null;
    cpSync(join(dir, "hq-data"), join(dir, "hq2-data"), { recursive: true });
    coordinator = await startHq(hq2, join(dir, "hq2-data"), pki.issue("farm-hq2", `IP:${hq2.ip}`));
    const newUrl = `https://${hq2.ip}:5000`;
    // Meanwhile blade1's agent logs each failed connect with the URL and the reason (§9).
    await until(() =>
      logOf(blade1).includes(
        `cannot connect to wss://${hq.ip}:5000/agent: connect ECONNREFUSED ${hq.ip}:5000`,
      ),
    );
    // The moved farm knows both blades, away: `openhq clients` says since when.
    const away = await cli("clients");
    for (const name of ["blade1", "blade2"])
      assert.match(away, new RegExp(`${name}.*disconnected since`), away);
    const logsBefore = blades.map((b) => logOf(b).length);
    // blade1: the new page's line.
    const line = await installLine(ca);
    assert.ok(line.includes(`${newUrl}/install/agent.sh`), line);
    const output = await install(blade1, line);
    assert.match(output, new RegExp(`updated server in .*: https://${hq.ip}:5000 -> ${newUrl}`), output);
    // blade2 (stopped): change `server` in hqnode.ini, then start it as §3 says (the boot line).
    const ini = iniOf(blade2);
    await blade2.exec(["sed", "-i", `s|^server = .*|server = ${newUrl}|`, ini]);
    await blade2.exec([
      "sh", "-c",
      `nohup ${shellQuote(join(prefixOf(blade2), "bin/openhq-agent-loop"))} --config ${shellQuote(ini)} </dev/null >/dev/null 2>&1 &`,
    ]); // prettier-ignore
    const clients = await clientsWhen(bothOn(NEXT), ca);
    assert.deepEqual(
      clients.map((c) => [c.hostname, c.connected]),
      [
        ["blade1", true],
        ["blade2", true],
      ],
    );
    assert.deepEqual(
      Object.fromEntries(clients.map((c) => [c.hostname, c.id])),
      ids,
      "back under their old ids",
    );
    // Without a credential for the new URL, each is taken back from the address it last used: nothing refused.
    for (const [i, blade] of blades.entries())
      assert.doesNotMatch(logOf(blade).slice(logsBefore[i]), /refused/, logOf(blade));
    await runTree(ca);
  });

  await step("a blade removed for good: record gone, credential refused, nothing left running", async () => {
    const removal = await cli("remove", "blade2");
    assert.match(removal, new RegExp(`removed: blade2 \\(${ids["blade2"]}\\)`), removal);
    const after = await adminPy<{ names: string[]; fault: { faultString: string } | null }>(
      `out({"names": [c["hostname"] for c in hq.getClients()], "fault": fault(hq.getClient, ${ids["blade2"]})})`,
      ca,
    );
    assert.deepEqual(after.names, ["blade1"]);
    assert.match(after.fault?.faultString ?? "", /does not exist/);
    // The agent still running there is shut out: its credential is refused.
    await until(() => /was removed from the farm/.test(logOf(blade2)));
    // Then stop it on the machine (§3): --uninstall. Nothing of it runs there any more.
    const line = await installLine(ca);
    const removed = await install(blade2, line, "--uninstall");
    assert.match(removed, /removed the agent/, removed);
    assert.deepEqual(blade2.pids(), []);
    assert.ok(!existsSync(join(prefixOf(blade2), "lib/openhq-agent/openhq-agent.mjs")));
    const still = await clientsWhen(`True`, ca);
    assert.deepEqual(
      still.map((c) => c.hostname),
      ["blade1"],
      "it did not come back",
    );
  });

  t.diagnostic(timings.join("; "));
});
