#!/usr/bin/env node
// `openhq`: the farm from a terminal. Talks to the coordinator's public XML-RPC API (the same calls Python
// scripts make) and, for wakeup/terminate, to an agent's port 5001.

import { ConfigError, KindError, kinds, Options, type OptionTable } from "../shared/config-loader.js";
import { HQServer, Fault } from "../shared/client/index.js";
import {
  agentCall,
  jobAction,
  listClients,
  listGroups,
  listJobs,
  listResources,
  listShares,
  parseIds,
  removeClients,
  setDisabled,
  setPriority,
  showJob,
  showTree,
  tail,
  type Io,
  type JobAction,
} from "./commands.js";
import { showAudit } from "./audit.js";
import { release, showBlocklist, showHealth, showHistory, unblock } from "./blades.js";
import { CliError, Exit } from "./exit-codes.js";
import { hashPasswordCommand } from "./hash-password.js";
import { COMMAND_HELP, commandHelp, USAGE_LINE, usageHint } from "./help.js";
import { readFarmSecret } from "./farm-secret.js";
import { submit } from "./submit.js";
import { VERSION } from "../shared/version.js";
import { showFailures } from "./failures.js";

const INT = kinds.int(-Number.MAX_SAFE_INTEGER);

/** The flags. The first four are settings; the others belong to commands and are documented with them. */
const OPTIONS = {
  server: {
    flag: "server",
    arg: "URL",
    env: ["HQSERVER"],
    kind: kinds.custom(serverUrl),
    default: "http://localhost:5000",
    doc: `coordinator URL (env HQSERVER; default http://localhost:5000);
                      with access control on: http://user:password@host:5000`,
  },
  farmSecret: {
    flag: "secret",
    oldFlags: ["agent-token"],
    arg: "S",
    env: ["OPENHQ_FARM_SECRET", "OPENHQ_AGENT_TOKEN"],
    kind: kinds.string,
    doc: "the farm secret, for an agent's port 5001 (env OPENHQ_FARM_SECRET)",
  },
  json: { flag: "json", kind: kinds.bool, default: false, doc: "machine-readable output" },
  help: { flag: "help", short: "h", kind: kinds.bool, default: false, doc: "this text" },
  wait: { flag: "wait", short: "w", kind: kinds.bool, default: false },
  name: { flag: "name", kind: kinds.string },
  priority: { flag: "priority", kind: INT },
  status: { flag: "status", kind: kinds.string, multiple: true },
  all: { flag: "all", kind: kinds.bool, default: false },
  limit: { flag: "limit", kind: INT, default: 100 },
  follow: { flag: "follow", short: "f", kind: kinds.bool, default: false },
  tree: { flag: "tree", kind: kinds.bool, default: false },
  failures: { flag: "failures", kind: kinds.bool, default: false },
  user: { flag: "user", kind: kinds.string, default: "" },
  cpus: { flag: "cpus", kind: INT },
  tags: { flag: "tags", kind: kinds.string, multiple: true },
  group: { flag: "group", kind: kinds.string },
  env: { flag: "env", kind: kinds.string, multiple: true },
  pollMs: { flag: "poll-ms", kind: INT, default: 500 },
  data: { flag: "data", kind: kinds.string },
  since: { flag: "since", kind: kinds.string },
  method: { flag: "method", kind: kinds.string },
  config: { flag: "config", kind: kinds.string },
} satisfies OptionTable;

const HELP = `${USAGE_LINE}

commands:
${COMMAND_HELP.map((c) => c.text).join("\n")}

options:
${Options.usage(OPTIONS, 22)}
exit codes:
  0 ok (submit --wait, tail -f: the jobs succeeded)
  1 submit --wait / tail -f: a job failed or was abandoned
  2 usage error (bad option, bad URL, unreadable spec)
  3 server unreachable   4 server Fault, or no such job/client   5 access denied
  6 submit --wait / tail -f: a job was cancelled   130 interrupted
  Output into a closed pipe (openhq jobs | head) ends quietly.
`;

async function run(argv: string[]): Promise<number> {
  const dashes = argv.indexOf("--");
  const before = dashes < 0 ? argv : argv.slice(0, dashes);
  const command = dashes < 0 ? [] : argv.slice(dashes + 1);
  const flags = new Options(OPTIONS, { argv: before, env: process.env, positionals: true });
  const [name, ...args] = flags.positionals;
  if (name === "help" && args[0] !== undefined) return printHelp(args[0]);
  if (flags.get("help") && name !== undefined) return printHelp(name);
  if (flags.get("help") || name === "help" || name === undefined) {
    (name === undefined && !flags.get("help") ? process.stderr : process.stdout).write(HELP);
    return name === undefined && !flags.get("help") ? Exit.usage : Exit.ok;
  }
  const serverUrl = flags.get("server");
  const json = flags.get("json");
  // The audit log tells the CLI's calls from scripts' by this mark.
  const server = new HQServer(serverUrl, { headers: { "user-agent": `openhq-cli/${VERSION}` } });
  const io: Io = { server, serverUrl, json, out: process.stdout };
  const one = (): number => {
    const ids = parseIds(args, name);
    if (ids.length !== 1) throw new CliError(`${name}: give exactly one job id`, Exit.usage);
    return ids[0] as number;
  };
  const oneClient = (): string => {
    if (args.length !== 1) throw new CliError(`${name}: give one client (id or name)`, Exit.usage);
    return args[0] as string;
  };
  const host = (): string => {
    if (args.length !== 1) throw new CliError(`${name}: give one host`, Exit.usage);
    return args[0] as string;
  };

  switch (name) {
    case "submit":
      return submit(
        io.server,
        {
          specFile: args[0],
          command,
          name: flags.get("name"),
          priority: flags.get("priority"),
          cpus: flags.get("cpus"),
          tags: flags.get("tags"),
          group: flags.get("group"),
          env: flags.get("env"),
          wait: flags.get("wait"),
          json,
          pollMs: flags.get("pollMs"),
        },
        process.stdout,
      );
    case "jobs":
      return listJobs(io, {
        statuses: flags.get("status"),
        all: flags.get("all"),
        limit: flags.get("limit"),
        user: flags.get("user"),
        name: flags.get("name") ?? "",
      });
    case "job":
      if (flags.get("failures")) return showFailures(io, one());
      return flags.get("tree") ? showTree(io, one()) : showJob(io, one());
    case "tail":
      return tail(io, one(), flags.get("follow"));
    case "cancel":
    case "pause":
    case "resume":
    case "reschedule":
    case "eject":
    case "delete":
      return jobAction(io, name as JobAction, parseIds(args, name));
    case "priority": {
      const [level, ...ids] = args;
      if (level === undefined) throw new CliError("priority: give a priority and job ids", Exit.usage);
      return setPriority(io, integer(level, "priority"), parseIds(ids, name));
    }
    case "clients":
      return listClients(io);
    case "enable":
    case "disable":
      return setDisabled(io, args, name === "disable");
    case "remove":
      return removeClients(io, args);
    case "revoke":
      for (const id of parseIds(args, name)) await io.server.call("revokeClient", id);
      io.out.write(io.json ? "true\n" : `revoked: ${args.join(", ")}\n`);
      return Exit.ok;
    case "approve":
      for (const id of parseIds(args, name)) {
        const address = String(await io.server.call("approveClient", id));
        io.out.write(io.json ? `${JSON.stringify(address)}\n` : `approved: client ${id} from ${address}\n`);
      }
      return Exit.ok;
    case "health":
      return showHealth(io, oneClient());
    case "history":
      return showHistory(io, oneClient(), flags.get("limit"));
    case "release":
      return release(io, args);
    case "blocklist":
      return showBlocklist(io, args);
    case "unblock":
      return unblock(io, args);
    case "groups":
      return listGroups(io);
    case "resources":
      return listResources(io);
    case "shares":
      return listShares(io);
    case "wakeup":
    case "terminate":
      return agentCall(io, name, host(), flags.get("farmSecret"));
    case "hash-password":
      return hashPasswordCommand(io.out);
    case "secret":
      io.out.write(
        `${readFarmSecret({ data: flags.get("data"), config: flags.get("config") }, process.env)}\n`,
      );
      return Exit.ok;
    case "rotate-secret": {
      await io.server.call("rotateFarmSecret");
      let secret: string;
      try {
        secret = readFarmSecret({ data: flags.get("data") }, process.env);
      } catch (err) {
        io.out.write(
          `rotated the farm secret; read the new one on the coordinator's host: ${(err as Error).message}\n`,
        );
        return Exit.ok;
      }
      io.out.write(
        io.json ? `${JSON.stringify(secret)}\n` : `rotated the farm secret; the new one: ${secret}\n`,
      );
      return Exit.ok;
    }
    case "audit":
      return showAudit(io, {
        since: flags.get("since"),
        user: flags.get("user"),
        method: flags.get("method"),
        limit: flags.get("limit"),
      });
    case "ping":
      await io.server.ping();
      io.out.write(io.json ? "true\n" : `${serverUrl}: ok\n`);
      return Exit.ok;
    default:
      throw new CliError(`unknown command: ${name}`, Exit.usage);
  }
}

/** `openhq COMMAND --help` / `openhq help COMMAND`: that command's lines of the help. */
function printHelp(name: string): number {
  const help = commandHelp(name);
  if (help === undefined) throw new CliError(`unknown command: ${name}`, Exit.usage);
  process.stdout.write(help);
  return Exit.ok;
}

/** The coordinator URL must be http(s)://…; "host:5000" alone parses as a URL scheme or not at all. */
function serverUrl(text: string): string {
  let url: URL | null = null;
  try {
    url = new URL(text);
  } catch {
    // reported below
  }
  if (url === null || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new KindError("an http:// or https:// URL", `; did you mean --server http://${text}?`);
  }
  return text;
}

function integer(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new CliError(`${flag}: expected an integer, got ${text}`, Exit.usage);
  return n;
}

/** The command word of a command line, as far as it can be told without parsing its flags. */
function commandName(args: string[]): string | undefined {
  const dashes = args.indexOf("--");
  const before = dashes < 0 ? args : args.slice(0, dashes);
  return before.find((a) => !a.startsWith("-") && commandHelp(a) !== undefined);
}

/** Maps what went wrong to a documented exit code and a one-line message. */
function failure(err: unknown): { code: number; message: string } {
  if (err instanceof CliError) return { code: err.code, message: err.message };
  if (err instanceof ConfigError) return { code: Exit.usage, message: err.message };
  if (err instanceof Fault) {
    const code = err.faultCode === 403 || err.faultCode === 401 ? Exit.denied : Exit.fault;
    return { code, message: `server refused: ${err.faultString} (fault ${err.faultCode})` };
  }
  const e = err as NodeJS.ErrnoException & { status?: number; statusCode?: number };
  const status = e.status ?? e.statusCode;
  if (status === 401 || status === 403 || /\b(401|403)\b/.test(e.message ?? "")) {
    return { code: Exit.denied, message: `access denied: ${e.message}` };
  }
  const network = ["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ECONNRESET", "ETIMEDOUT", "EAI_AGAIN"];
  const cause = (e as { cause?: NodeJS.ErrnoException }).cause;
  if (network.includes(e.code ?? "") || network.includes(cause?.code ?? "")) {
    return { code: Exit.unreachable, message: `cannot reach the server: ${e.message}` };
  }
  return { code: Exit.unreachable, message: `error: ${e.message ?? String(err)}` };
}

// `openhq jobs | head -3`: the reader left; stop quietly instead of dying with an EPIPE stack trace.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw err;
});

const argv = process.argv.slice(2);
run(argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const { code, message } = failure(err);
    // A usage error is its one line and where the help is, not the whole help.
    const hint = code === Exit.usage ? ` (${usageHint(commandName(argv))})` : "";
    process.stderr.write(`openhq: ${message}${hint}\n`);
    process.exitCode = code;
  },
);
