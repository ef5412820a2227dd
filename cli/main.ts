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
import { release, showBlocklist, showHealth, showHistory, unblock } from "./blades.js";
import { CliError, Exit } from "./exit-codes.js";
import { hashPasswordCommand } from "./hash-password.js";
import { readFarmSecret } from "./farm-secret.js";
import { submit } from "./submit.js";

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
  agentToken: {
    flag: "agent-token",
    arg: "T",
    env: ["OPENHQ_AGENT_TOKEN"],
    kind: kinds.string,
    doc: "token for an agent's port 5001 (env OPENHQ_AGENT_TOKEN)",
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
  user: { flag: "user", kind: kinds.string, default: "" },
  cpus: { flag: "cpus", kind: INT },
  tags: { flag: "tags", kind: kinds.string, multiple: true },
  group: { flag: "group", kind: kinds.string },
  env: { flag: "env", kind: kinds.string, multiple: true },
  pollMs: { flag: "poll-ms", kind: INT, default: 500 },
  data: { flag: "data", kind: kinds.string },
  config: { flag: "config", kind: kinds.string },
} satisfies OptionTable;

const HELP = `usage: openhq [--server URL] [--json] COMMAND [ARGS]

commands:
  submit SPEC.json [--wait]            submit a job spec file (one spec or a list)
  submit [--name N] [--wait] -- CMD…   submit one command
         --priority N  --cpus N        override the priority / CPUs per job
         --tags a,b  --group G         tags (repeatable), run only on clients of group G
         --env KEY=VALUE               environment variable (repeatable)
         --wait: on failure, names the failed jobs with exit code and last output lines
  jobs [--status S]… [--all] [--limit N] [--user U] [--name N]
                                       list root jobs (unfinished unless --all), or jobs by status;
                                       --user/--name keep those whose submitter/name contains the text
  job ID [--tree]                      every attribute of a job and its status log; --tree: its descendants
  tail [-f] ID                         a job's output; -f follows it live until the job ends
  cancel|pause|resume|reschedule|eject|delete ID…
  priority N ID…                       set the priority of jobs
  clients                              clients with state, load, memory, idle time, running jobs
  enable|disable CLIENT…               setdisabled; CLIENT is an id, a hostname or hostname:name
  revoke CLIENT_ID…                    revoke agents: their link closes and they cannot rejoin
  approve CLIENT_ID…                   let a known name enroll again from the address it last asked from
  remove CLIENT…                       take machines out of the farm for good: record deleted,
                                       credential refused, running frames back to the queue
  health CLIENT                        quarantine (why, which failures) and the jobs a client is blocklisted for
  history CLIENT [--limit N]           a client's recent attempts and its quarantine/blocklist events
  release CLIENT…                      end a client's quarantine (and probation) now
  blocklist JOB                        the blades of a job's tree: failures, blocklisted or not
  unblock JOB [CLIENT]                 take every blade (or one) off a job tree's blocklist
  groups                               client groups
  resources                            resources with amount and use
  wakeup HOST                          ask an agent for an immediate heartbeat (its port 5001)
  terminate HOST                       ask an agent to finish its jobs and leave the farm
  ping                                 check that the server answers
  hash-password                        print a salted hash (scrypt) of a password for openhq.auth.users;
                                       reads it from the terminal (no echo) or standard input
  secret [--data DIR] [--config INI]   on the coordinator's host: print the farm secret agents join with
                                       (from the data folder's farm-secret, or openhq.agentToken in INI)
  rotate-secret [--data DIR]           on the coordinator's host (or as an admin): make a new farm secret
                                       and print it; enrolled agents stay (docs/SECURITY.md)

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
  const flags = new Options(OPTIONS, { argv: before, env: process.env, positionals: true, usage: HELP });
  const [name, ...args] = flags.positionals;
  if (flags.get("help") || name === undefined) {
    process.stdout.write(HELP);
    return name === undefined && !flags.get("help") ? Exit.usage : Exit.ok;
  }
  const serverUrl = flags.get("server");
  const json = flags.get("json");
  const io: Io = { server: new HQServer(serverUrl), serverUrl, json, out: process.stdout };
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
    case "wakeup":
    case "terminate":
      return agentCall(io, name, host(), flags.get("agentToken"));
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
    case "ping":
      await io.server.ping();
      io.out.write(io.json ? "true\n" : `${serverUrl}: ok\n`);
      return Exit.ok;
    default:
      throw new CliError(`unknown command: ${name}\n\n${HELP}`, Exit.usage);
  }
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

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const { code, message } = failure(err);
    process.stderr.write(`openhq: ${message}\n`);
    process.exitCode = code;
  },
);
