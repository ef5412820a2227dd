#!/usr/bin/env node
// `openhq`: the farm from a terminal. Talks to the coordinator's public XML-RPC API (the same calls Python
// scripts make) and, for wakeup/terminate, to an agent's port 5001.

import { parseArgs } from "node:util";
import { HQServer, Fault } from "../shared/client/index.js";
import {
  agentCall,
  jobAction,
  listClients,
  listGroups,
  listJobs,
  listResources,
  parseIds,
  setDisabled,
  setPriority,
  showJob,
  showTree,
  tail,
  type Io,
  type JobAction,
} from "./commands.js";
import { CliError, Exit } from "./exit-codes.js";
import { submit } from "./submit.js";

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
  enable|disable CLIENT…               setdisabled by client name (hostname or hostname:name)
  revoke CLIENT_ID…                    revoke agents: their link closes and they cannot rejoin
  groups                               client groups
  resources                            resources with amount and use
  wakeup HOST                          ask an agent for an immediate heartbeat (its port 5001)
  terminate HOST                       ask an agent to finish its jobs and leave the farm
  ping                                 check that the server answers

options:
  --server URL        coordinator URL (env HQSERVER; default http://localhost:5000);
                      with access control on: http://user:password@host:5000
  --agent-token T     token for an agent's port 5001 (env OPENHQ_AGENT_TOKEN)
  --json              machine-readable output
  -h, --help          this text

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
  let parsed;
  try {
    parsed = parseArgs({
      args: before,
      allowPositionals: true,
      strict: true,
      options: {
        server: { type: "string" },
        "agent-token": { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
        wait: { type: "boolean", short: "w", default: false },
        name: { type: "string" },
        priority: { type: "string" },
        status: { type: "string", multiple: true },
        all: { type: "boolean", default: false },
        limit: { type: "string" },
        follow: { type: "boolean", short: "f", default: false },
        tree: { type: "boolean", default: false },
        user: { type: "string" },
        cpus: { type: "string" },
        tags: { type: "string", multiple: true },
        group: { type: "string" },
        env: { type: "string", multiple: true },
        "poll-ms": { type: "string" },
      },
    });
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n\n${HELP}`, Exit.usage);
  }
  const { values: flags, positionals } = parsed;
  const [name, ...args] = positionals;
  if (flags.help || name === undefined) {
    process.stdout.write(HELP);
    return name === undefined && !flags.help ? Exit.usage : Exit.ok;
  }
  const serverUrl = checkServerUrl(flags.server ?? process.env["HQSERVER"] ?? "http://localhost:5000");
  const io: Io = { server: new HQServer(serverUrl), serverUrl, json: flags.json, out: process.stdout };
  const one = (): number => {
    const ids = parseIds(args, name);
    if (ids.length !== 1) throw new CliError(`${name}: give exactly one job id`, Exit.usage);
    return ids[0] as number;
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
          name: flags.name,
          priority: flags.priority === undefined ? undefined : integer(flags.priority, "--priority"),
          cpus: flags.cpus === undefined ? undefined : integer(flags.cpus, "--cpus"),
          tags: flags.tags,
          group: flags.group,
          env: flags.env,
          wait: flags.wait,
          json: flags.json,
          pollMs: flags["poll-ms"] === undefined ? 500 : integer(flags["poll-ms"], "--poll-ms"),
        },
        process.stdout,
      );
    case "jobs":
      return listJobs(io, {
        statuses: flags.status ?? [],
        all: flags.all,
        limit: flags.limit ? integer(flags.limit, "--limit") : 100,
        user: flags.user ?? "",
        name: flags.name ?? "",
      });
    case "job":
      return flags.tree ? showTree(io, one()) : showJob(io, one());
    case "tail":
      return tail(io, one(), flags.follow);
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
    case "revoke":
      for (const id of parseIds(args, name)) await io.server.call("revokeClient", id);
      io.out.write(io.json ? "true\n" : `revoked: ${args.join(", ")}\n`);
      return Exit.ok;
    case "groups":
      return listGroups(io);
    case "resources":
      return listResources(io);
    case "wakeup":
    case "terminate":
      return agentCall(io, name, host(), flags["agent-token"] ?? process.env["OPENHQ_AGENT_TOKEN"]);
    case "ping":
      await io.server.ping();
      io.out.write(io.json ? "true\n" : `${serverUrl}: ok\n`);
      return Exit.ok;
    default:
      throw new CliError(`unknown command: ${name}\n\n${HELP}`, Exit.usage);
  }
}

/** The coordinator URL must be http(s)://…; "host:5000" alone parses as a URL scheme or not at all. */
function checkServerUrl(text: string): string {
  let url: URL | null = null;
  try {
    url = new URL(text);
  } catch {
    // reported below
  }
  if (url === null || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new CliError(
      `--server ${text}: not an http:// or https:// URL; did you mean --server http://${text}?`,
      Exit.usage,
    );
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
