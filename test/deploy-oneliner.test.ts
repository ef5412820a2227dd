// The one-line agent install the coordinator's "Add a machine" page shows, run for real on this machine:
// `curl .../install/agent.sh | sh -s -- ...` against a real coordinator (and Redis), into a temporary prefix
// with --no-service (as on a machine without systemd). The agent joins and runs a job; re-running the line
// upgrades it; upgradeClients makes it fetch the coordinator's newer build; terminate() leaves it stopped;
// --uninstall stops and removes it. Also: the install endpoints' access control, the installer refusing a
// build whose sha256 does not match, and the upgrading agent refusing a build not signed by its pinned key.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash, generateKeyPairSync, sign } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { coordinatorBaseUrl, fetchUpgrade } from "../agent/upgrade.js";
import { startCoordinator } from "./support/coordinator.js";
import { py, waitFinished } from "./support/farm-kit.js";
import { freePort } from "./support/ports.js";
import { alive } from "./support/processes.js";

const root = process.cwd();
const SECRET = "farm secret's value";

/** Builds the /install folder (scripts/bundle.mjs) with the agent reporting `version`. */
function buildInstallDir(dir: string, version: string): void {
  execFileSync(process.execPath, [join(root, "scripts/bundle.mjs"), dir, version], { stdio: "pipe" });
}

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * The Linux line as the "Add a machine" page shows it, without sudo. Access control is off, so the page is
 * anonymous and shows a placeholder for the secret, which the admin replaces (read with `openhq secret`).
 */
async function pageLine(url: string): Promise<string> {
  const page = await (await fetch(`${url}/install`)).text();
  assert.ok(!page.includes(SECRET) && !page.includes(shellQuote(SECRET)), "no secret on the anonymous page");
  const code = /<pre class="install-line"><code>(curl [^<]*)<\/code><\/pre>/.exec(page)?.[1];
  assert.ok(code !== undefined, page);
  const text = code.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)));
  assert.ok(text.includes(`| sudo sh -s -- --secret FARM-SECRET`), text);
  return text.replace("| sudo sh", "| sh").replace("FARM-SECRET", shellQuote(SECRET));
}

/** The line with the test's options added (--no-service, a temporary prefix, a free client port). */
function oneLiner(
  url: string,
  args: string[],
  base = `curl -fsSL -u ${shellQuote(`openhq-agent:${SECRET}`)} ${url}/install/agent.sh | sh -s --`,
): { status: number | null; output: string } {
  const line = `${base} ${args.map(shellQuote).join(" ")}`;
  const result = spawnSync("sh", ["-c", line], { encoding: "utf8", timeout: 120_000 });
  return { status: result.status, output: result.stdout + result.stderr };
}

async function waitVersion(url: string, version: string): Promise<Record<string, unknown>[]> {
  return py<Record<string, unknown>[]>(
    url,
    `
import time
deadline = time.time() + 60
while True:
    clients = hq.getClients(None, ["id", "name", "version", "needsUpgrade"])
    if any(c["version"] == ${JSON.stringify(version)} for c in clients) or time.time() > deadline:
        break
    time.sleep(0.1)
out(clients)
`,
  );
}

test("the Linux one-liner installs, upgrades (re-run and upgradeClients) and uninstalls a working agent", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "openhq-oneliner-"));
  const served = join(dir, "served");
  const prefix = join(dir, "prefix");
  buildInstallDir(served, "1.0.0-first");
  const coordinator = await startCoordinator({
    env: { OPENHQ_INSTALL_DIR: served, OPENHQ_FARM_SECRET: SECRET },
  });
  const pidfile = join(prefix, "var/lib/openhq-agent/agent-loop.pid");
  t.after(async () => {
    if (existsSync(pidfile)) {
      const pid = Number(readFileSync(pidfile, "utf8"));
      if (alive(pid)) process.kill(pid, "SIGTERM");
    }
    await coordinator.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const clientPort = String(await freePort());
  const args = ["--secret", SECRET, "--no-service", "--prefix", prefix, "--client-port", clientPort];

  const first = oneLiner(
    coordinator.url,
    [...args.slice(2), "--name", "blade01"],
    await pageLine(coordinator.url),
  );
  assert.equal(first.status, 0, first.output);
  assert.match(first.output, /installed the agent 1\.0\.0-first/);
  const ini = readFileSync(join(prefix, "etc/openhq/hqnode.ini"), "utf8");
  assert.ok(ini.includes(`server = ${coordinator.url}\n`), ini);
  assert.ok(ini.includes(`secret = ${SECRET}\n`), ini);
  assert.match(ini, /^signingKey = [A-Za-z0-9+/=]{40,}$/m, "the farm's signing key is pinned");
  let clients = await waitVersion(coordinator.url, "1.0.0-first");
  assert.deepEqual(
    clients.map((c) => [c["name"], c["version"]]),
    [["blade01", "1.0.0-first"]],
  );
  // Without a service manager the agent logs once: agent.log has its lines, agent.out.log none of them.
  const logs = join(prefix, "var/log/openhq");
  assert.match(readFileSync(join(logs, "agent.log"), "utf8"), /welcomed as client/);
  const outLog = join(logs, "agent.out.log");
  assert.ok(!existsSync(outLog) || !readFileSync(outLog, "utf8").includes("welcomed as client"));
  assert.match(first.output, /nothing starts the agent after a reboot/);

  // It runs a job.
  const ids = await py<number[]>(coordinator.url, `out(hq.newjob({"name": "hello", "command": "echo hi"}))`);
  assert.deepEqual(await waitFinished(coordinator.url, ids), { [String(ids[0])]: "succeeded" });

  // What it installed: the agent file, two small scripts and the ini; shellcheck-clean scripts.
  const agentFile = join(prefix, "lib/openhq-agent/openhq-agent.mjs");
  assert.ok(readFileSync(agentFile).length < 10 << 20);
  const check = spawnSync(
    "shellcheck",
    [join(prefix, "bin/openhq-agent"), join(prefix, "bin/openhq-agent-loop")],
    { encoding: "utf8" },
  );
  assert.equal(check.status, 0, check.stdout + check.stderr);

  // Re-running the line upgrades in place: the coordinator has a newer build.
  buildInstallDir(served, "1.0.1-rerun");
  const again = oneLiner(coordinator.url, args);
  assert.equal(again.status, 0, again.output);
  assert.match(again.output, /kept the other settings of .*hqnode\.ini/);
  assert.doesNotMatch(again.output, /updated/, "nothing changed");
  clients = await waitVersion(coordinator.url, "1.0.1-rerun");
  assert.deepEqual(
    clients.map((c) => [c["name"], c["version"]]),
    [["blade01", "1.0.1-rerun"]],
  );

  // upgradeClients: the agent fetches the coordinator's build itself and restarts on it.
  buildInstallDir(served, "1.0.2-pushed");
  const loopPid = Number(readFileSync(pidfile, "utf8"));
  await py(coordinator.url, `hq.upgradeClients([${String(clients[0]?.["id"])}]); out(True)`);
  clients = await waitVersion(coordinator.url, "1.0.2-pushed");
  assert.deepEqual(
    clients.map((c) => c["version"]),
    ["1.0.2-pushed"],
  );
  assert.equal(clients[0]?.["needsUpgrade"], false, "upgraded: no longer needs an upgrade");
  assert.ok(alive(loopPid), "the agent loop restarted the agent in place");
  const id = await py<number[]>(coordinator.url, `out(hq.newjob({"name": "after", "command": "true"}))`);
  assert.deepEqual(await waitFinished(coordinator.url, id), { [String(id[0])]: "succeeded" });

  // terminate() takes the agent out of the farm: it exits 0 and the loop does not start it again.
  const secretUrl = `http://hq:${encodeURIComponent(SECRET)}@127.0.0.1:${clientPort}`;
  await py(
    coordinator.url,
    `xmlrpc.client.ServerProxy(${JSON.stringify(secretUrl)}, allow_none=True).terminate(); out(True)`,
  );
  const deadline = Date.now() + 60_000;
  while (alive(loopPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.ok(!alive(loopPid), "after terminate() the agent stays stopped");

  // Uninstall stops a running agent (started again by a re-run) and removes its files; the ini stays
  // unless --purge.
  assert.equal(oneLiner(coordinator.url, args).status, 0);
  const runningPid = Number(readFileSync(pidfile, "utf8"));
  assert.ok(alive(runningPid));
  const removed = oneLiner(coordinator.url, ["--no-service", "--prefix", prefix, "--uninstall"]);
  assert.equal(removed.status, 0, removed.output);
  assert.ok(!alive(runningPid), "uninstall stopped the agent");
  assert.ok(!existsSync(agentFile));
  assert.ok(!existsSync(join(prefix, "bin/openhq-agent")));
  assert.ok(existsSync(join(prefix, "etc/openhq/hqnode.ini")));
  const purged = oneLiner(coordinator.url, ["--no-service", "--prefix", prefix, "--uninstall", "--purge"]);
  assert.equal(purged.status, 0, purged.output);
  assert.ok(!existsSync(join(prefix, "etc/openhq/hqnode.ini")));
});

test("install files follow access control, answer to the farm secret, and the page shows it to admins only", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "openhq-install-auth-"));
  buildInstallDir(dir, "2.0.0");
  const coordinator = await startCoordinator({
    env: {
      OPENHQ_INSTALL_DIR: dir,
      OPENHQ_FARM_SECRET: SECRET,
      OPENHQ_AUTH: "on",
      OPENHQ_AUTH_USERS: "boss:admin:pw1,viewer:readonly:pw2",
    },
  });
  t.after(async () => {
    await coordinator.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const get = (path: string, user?: string, password?: string) =>
    fetch(`${coordinator.url}${path}`, {
      headers:
        user === undefined
          ? {}
          : { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` },
    });

  assert.equal((await get("/install/agent.sh")).status, 401);
  assert.equal((await get("/install/openhq-agent.mjs", "x", "wrong")).status, 401);
  assert.equal((await get("/install")).status, 401);
  const script = await get("/install/agent.sh", "anyone", SECRET);
  assert.equal(script.status, 200);
  const text = await script.text();
  assert.ok(text.includes(`url="${coordinator.url}"`), "the script points back at this coordinator");
  assert.ok(!text.includes(SECRET), "the script itself holds no secret");
  const artifact = await get("/install/openhq-agent.mjs", "viewer", "pw2");
  assert.equal(artifact.status, 200);
  const digest = await (await get("/install/openhq-agent.mjs.sha256", "viewer", "pw2")).text();
  const body = Buffer.from(await artifact.arrayBuffer());
  assert.equal(digest.slice(0, 64), createHash("sha256").update(body).digest("hex"));
  assert.equal((await get("/install/../package.json", "viewer", "pw2")).status, 404);
  assert.equal((await get("/install/nothing.txt", "viewer", "pw2")).status, 404);

  const asViewer = await (await get("/install", "viewer", "pw2")).text();
  assert.ok(
    !asViewer.includes("secret&#39;s") && !asViewer.includes(SECRET),
    "no secret for a read-only user",
  );
  assert.match(asViewer, /FARM-SECRET/);
  const asAdmin = await (await get("/install", "boss", "pw1")).text();
  assert.match(asAdmin, /farm secret&#39;/);
  assert.match(asAdmin, /install\/agent\.sh \| sudo sh -s --/);
  assert.match(asAdmin, /install\/agent\.ps1/);
});

test("the installer refuses an agent whose sha256 does not match, and checks its options", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "openhq-install-sha-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const from = join(dir, "from");
  buildInstallDir(from, "3.0.0");
  writeFileSync(join(from, "openhq-agent.mjs.sha256"), `${"0".repeat(64)}  openhq-agent.mjs\n`);
  const script = join(root, "deploy/install/agent.sh");
  const run = (...args: string[]) =>
    spawnSync("sh", [script, "--prefix", join(dir, "p"), "--no-service", "--no-start", ...args], {
      encoding: "utf8",
    });
  const bad = run("--from", from);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /sha256 is [0-9a-f]{64}, the coordinator says 0{64}/);
  assert.ok(!existsSync(join(dir, "p/lib/openhq-agent/openhq-agent.mjs")));
  assert.equal(run("--bogus").status, 2);
  assert.equal(run("--client-port", "x").status, 2);
  assert.equal(run("--name", "a b").status, 2);
  // Not served by a coordinator and no --url: it says what to give.
  const noUrl = run();
  assert.equal(noUrl.status, 1);
  assert.match(noUrl.stderr, /--url/);
});

test("an agent upgrading itself installs only a build signed by its pinned key", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "openhq-upgrade-"));
  const file = join(dir, "openhq-agent.mjs");
  writeFileSync(file, "// the running agent\n", { mode: 0o755 });
  const good = "// the new agent\n";
  const farm = generateKeyPairSync("ed25519");
  const other = generateKeyPairSync("ed25519");
  let signer = other.privateKey;
  const seen: (string | undefined)[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers.authorization);
    if (req.url === "/install/openhq-agent.mjs.sig")
      res.end(`${sign(null, Buffer.from(good), signer).toString("base64")}\n`);
    else if (req.url === "/install/openhq-agent.mjs") res.end(good);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const { port } = server.address() as AddressInfo;
  const pinned = farm.publicKey.export({ format: "der", type: "spki" }).toString("base64");
  const source = { baseUrl: coordinatorBaseUrl("127.0.0.1", port, false), token: SECRET, signingKey: pinned };

  await assert.rejects(fetchUpgrade(source, file), /not signed by the farm's key/);
  assert.equal(readFileSync(file, "utf8"), "// the running agent\n");
  assert.deepEqual(readdirSync(dir), ["openhq-agent.mjs"], "no partial file left behind");
  await assert.rejects(fetchUpgrade({ ...source, signingKey: null }, file), /no signingKey is pinned/);

  signer = farm.privateKey;
  assert.match(await fetchUpgrade(source, file), /installed the coordinator's signed agent/);
  assert.equal(readFileSync(file, "utf8"), good);
  assert.equal(statSync(file).mode & 0o777, 0o755);
  assert.equal(seen[0], `Basic ${Buffer.from(`openhq-agent:${SECRET}`).toString("base64")}`);
});
