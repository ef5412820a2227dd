// Installs what the quick-start commands need and a fresh machine lacks, using only Node's built-ins so it
// can run before `npm ci`: the npm packages, and Debian's redis-server (plus chromium for the browser tests,
// systemd-analyze, shellcheck and curl for the install tests).
// `node scripts/ensure.mjs` for running a farm, `node scripts/ensure.mjs test` for the test suite.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";

const forTests = process.argv.includes("test");

function has(command) {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

function run(command, args) {
  console.error(`openhq: ${command} ${args.join(" ")}`);
  execFileSync(command, args, { stdio: "inherit" });
}

const lockTime = existsSync("package-lock.json") ? statSync("package-lock.json").mtimeMs : 0;
const installed = "node_modules/.package-lock.json";
if (!existsSync(installed) || statSync(installed).mtimeMs < lockTime) {
  run("npm", ["ci", "--no-audit", "--no-fund"]);
}

const packages = [];
if (!has("redis-server")) packages.push("redis-server");
if (forTests && !has("chromium")) packages.push("chromium");
if (forTests && !has("systemd-analyze")) packages.push("systemd");
if (forTests && !has("shellcheck")) packages.push("shellcheck");
if (forTests && !has("curl")) packages.push("curl");
if (forTests && !has("promtool")) packages.push("prometheus"); // promtool checks deploy/monitoring
if (forTests && !has("openssl")) packages.push("openssl"); // the TLS test makes a self-signed certificate
if (forTests && !has("ip")) packages.push("iproute2"); // npm run test:hosts makes its hosts with ip netns
if (packages.length > 0) {
  if (!has("apt-get")) {
    console.error(`openhq: please install ${packages.join(", ")} (no apt-get on this machine)`);
    process.exit(1);
  }
  const sudo = process.getuid?.() === 0 ? [] : ["sudo"];
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const apt = (args) => {
    const [cmd, ...rest] = [...sudo, "apt-get", ...args];
    console.error(`openhq: ${cmd} ${rest.join(" ")}`);
    execFileSync(cmd, rest, { stdio: "inherit", env });
  };
  apt(["update", "-qq"]);
  apt(["install", "-y", "-qq", "--no-install-recommends", ...packages]);
}
