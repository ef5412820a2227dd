// Hosts for the multi-host deploy test (test/hosts/): network namespaces on one Linux machine, each with its
// own address on a private LAN and, for what runs in it, its own host name. The LAN's bridge lives in a
// namespace of its own too, so nothing is added to the machine's own network and nothing is routed out.
// Namespace names carry this process's id and a random tag: a run never collides with another run or with
// what a killed run left behind. teardown() kills every process left in the namespaces (by id, as
// `ip netns pids` lists them) and deletes them; it is synchronous, so it also runs from an exit handler.
// What a run killed outright (SIGKILL, Ctrl-C) leaves, sweepLeftovers() removes the same way: the
// namespaces of this test whose process is gone.

import { execFile, execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Why hosts cannot be made here (not root, no `ip`/`unshare`, namespaces refused), or null when they can. */
export function namespacesUnavailable(): string | null {
  if (process.platform !== "linux") return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return "network namespaces need root (run as root, as CI does)";
  for (const tool of ["ip", "unshare"]) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" }).status !== 0)
      return `\`${tool}\` is not installed (Debian: apt-get install iproute2 util-linux)`;
  }
  const probe = `ohqprobe${process.pid}`;
  const made = spawnSync("ip", ["netns", "add", probe], { encoding: "utf8" });
  if (made.status !== 0) return `\`ip netns add\` failed: ${made.stderr.trim() || `exit ${made.status}`}`;
  const bridge = spawnSync("ip", ["-n", probe, "link", "add", "br0", "type", "bridge"], { encoding: "utf8" });
  const veth = spawnSync("ip", ["-n", probe, "link", "add", "v0", "type", "veth", "peer", "name", "v1"], {
    encoding: "utf8",
  });
  spawnSync("ip", ["netns", "del", probe]);
  if (bridge.status !== 0) return `cannot make a bridge: ${bridge.stderr.trim()}`;
  if (veth.status !== 0) return `cannot make a veth pair: ${veth.stderr.trim()}`;
  return null;
}

/** `ohq-<pid of the test process>-<tag>-<host>`: the namespaces of one run. */
const NAME = /^ohq-(\d+)-[0-9a-f]+-[a-z0-9]+$/;

function pidsOf(ns: string): number[] {
  const out = spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).stdout ?? "";
  return out
    .split(/\s+/)
    .filter((s) => /^\d+$/.test(s))
    .map(Number);
}

/** Kills the processes in these namespaces, then deletes them. */
function removeNamespaces(namespaces: string[]): void {
  // The processes first: a namespace with processes in it outlives `ip netns del`.
  for (const ns of namespaces)
    for (const pid of pidsOf(ns)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  for (const ns of namespaces) spawnSync("ip", ["netns", "del", ns]);
}

/** Removes the hosts of earlier runs whose test process is gone; returns their namespaces' names. */
export function sweepLeftovers(): string[] {
  const listed = spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout ?? "";
  const stale = listed
    .split("\n")
    .map((line) => line.split(" ")[0] ?? "")
    .filter((name) => {
      const pid = NAME.exec(name)?.[1];
      if (pid === undefined) return false;
      try {
        process.kill(Number(pid), 0);
        return false;
      } catch {
        return true;
      }
    });
  removeNamespaces(stale);
  return stale;
}

export interface Host {
  /** The namespace's name (`ip netns exec NAME`). */
  ns: string;
  /** Its address on the LAN. */
  ip: string;
  /** The host name of what runs on it (`unshare --uts`). */
  hostname: string;
  /** A command line that runs `command` on this host: in its namespace, under its host name. */
  wrap(command: string[]): string[];
  /** Runs a command on this host; resolves with its output, rejects with it when the exit status is not 0. */
  exec(command: string[], opts?: { env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<string>;
  /** The ids of every process in its namespace. */
  pids(): number[];
}

export interface Lan {
  /** A host on the LAN at `10.231.<net>.<last>`. */
  addHost(label: string, hostname: string, last: number): Host;
  /** Kills every process on the LAN's hosts and deletes their namespaces and the bridge; idempotent. */
  teardown(): void;
}

/** A private LAN, 10.231.<net>.0/24, on a bridge of its own. */
export function makeLan(net = 231): Lan {
  const tag = `ohq-${process.pid}-${randomBytes(2).toString("hex")}`;
  const namespaces: string[] = [];
  const ip = (...args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
  const addNamespace = (name: string) => {
    ip("netns", "add", name);
    namespaces.push(name);
    ip("-n", name, "link", "set", "lo", "up");
  };
  const switchNs = `${tag}-lan`;
  addNamespace(switchNs);
  ip("-n", switchNs, "link", "add", "br0", "type", "bridge");
  ip("-n", switchNs, "link", "set", "br0", "up");

  let port = 0;
  return {
    addHost(label, hostname, last) {
      const ns = `${tag}-${label}`;
      const address = `10.${net}.7.${last}`;
      addNamespace(ns);
      const portName = `p${port++}`;
      ip("-n", switchNs, "link", "add", portName, "type", "veth", "peer", "name", "eth0", "netns", ns);
      ip("-n", switchNs, "link", "set", portName, "master", "br0", "up");
      ip("-n", ns, "addr", "add", `${address}/24`, "dev", "eth0");
      ip("-n", ns, "link", "set", "eth0", "up");
      const wrap = (command: string[]) => [
        "ip", "netns", "exec", ns, "unshare", "--uts", "sh", "-c", `hostname ${hostname} && exec "$0" "$@"`,
        ...command,
      ]; // prettier-ignore
      return {
        ns,
        ip: address,
        hostname,
        wrap,
        async exec(command, opts = {}) {
          const [file, ...args] = wrap(command);
          try {
            const { stdout, stderr } = await run(file as string, args, {
              env: opts.env ?? process.env,
              timeout: opts.timeoutMs ?? 120_000,
              encoding: "utf8",
              maxBuffer: 64 << 20,
            });
            return stdout + stderr;
          } catch (err) {
            const e = err as Error & { stdout?: string; stderr?: string };
            throw new Error(`on ${hostname}: ${command.join(" ")}: ${e.message}\n${e.stdout}${e.stderr}`, {
              cause: err,
            });
          }
        },
        pids: () => pidsOf(ns),
      };
    },
    teardown() {
      removeNamespaces(namespaces.splice(0).reverse());
    },
  };
}
