// The bad-blade commands of `openhq` (docs/DESIGN.md "Bad blades"): a client's health and history, a job
// tree's blocklist, and the ways out (release a quarantined client, clear a blocklist).

import type { XmlRpcValue } from "../shared/xmlrpc/types.js";
import { CliError, Exit } from "./exit-codes.js";
import { table, text, toJson, when, writeList } from "./format.js";
import type { Io } from "./commands.js";
import { resolveOneClient } from "./client-names.js";

type Row = Record<string, XmlRpcValue>;

function jobId(arg: string | undefined, command: string): number {
  const n = Number(arg);
  if (arg === undefined || !Number.isSafeInteger(n) || n < 0)
    throw new CliError(`${command}: give a job id`, Exit.usage);
  return n;
}

/** `health CLIENT`: quarantine (why, with its failures) and the job trees the client is blocklisted for. */
export async function showHealth(io: Io, arg: string): Promise<number> {
  const health = await io.server.call<Row>("getClientHealth", await resolveOneClient(io, arg));
  if (io.json) {
    io.out.write(toJson(health));
    return Exit.ok;
  }
  const reason = (health["reason"] ?? null) as Row | null;
  const state = health["quarantined"]
    ? `quarantined until ${when(health["quarantinedUntil"])}`
    : health["probation"]
      ? "on probation (one frame at a time until one succeeds)"
      : "ok";
  const lines = [`client ${text(health["clientId"])}: ${state}`];
  if (reason !== null && state !== "ok") {
    lines.push(`  why: ${text(reason["why"])}`);
    for (const f of (reason["failures"] ?? []) as Row[])
      lines.push(`  job ${text(f["job"])} ${when(f["t"])}: ${text(f["why"])}  ${text(f["last"]).trim()}`);
  }
  const blocked = (health["blockedJobs"] ?? []) as Row[];
  lines.push(
    `blocklisted for jobs: ${blocked.length === 0 ? "none" : blocked.map((b) => text(b["jobId"])).join(", ")}`,
  );
  io.out.write(lines.join("\n") + "\n");
  return Exit.ok;
}

/** `history CLIENT [--limit N]`: the client's recent attempts and events, newest first. */
export async function showHistory(io: Io, arg: string, limit: number): Promise<number> {
  const rows = await io.server.call<Row[]>(
    "getClientAttempts",
    await resolveOneClient(io, arg),
    Math.min(limit, 200),
  );
  writeList(io, rows, ["TIME", "JOB", "NAME", "RESULT", "EXIT", "SECONDS"], (r) => [
    when(r["t"]),
    r["job"] === undefined ? "" : text(r["job"]),
    r["name"] === undefined ? "" : text(r["name"]),
    r["event"] === undefined ? text(r["result"]) : `${text(r["event"])}: ${text(r["why"] ?? "")}`,
    r["exit"] === undefined ? (r["signal"] === undefined ? "" : text(r["signal"])) : text(r["exit"]),
    typeof r["ms"] === "number" ? (r["ms"] / 1000).toFixed(1) : "",
  ]);
  return Exit.ok;
}

/** `release CLIENT…`: ends quarantine and probation at once. */
export async function release(io: Io, args: string[]): Promise<number> {
  if (args.length === 0) throw new CliError("release: give one or more clients", Exit.usage);
  const done: Record<string, boolean> = {};
  for (const arg of args)
    done[arg] = await io.server.call<boolean>("releaseClient", await resolveOneClient(io, arg));
  if (io.json) io.out.write(toJson(done));
  else
    for (const [arg, was] of Object.entries(done))
      io.out.write(`${arg}: ${was ? "released" : "was not quarantined"}\n`);
  return Exit.ok;
}

/** `blocklist JOB`: the blades of the job's tree with their failures, and which are blocklisted. */
export async function showBlocklist(io: Io, args: string[]): Promise<number> {
  const list = await io.server.call<Row>("getJobBlocklist", jobId(args[0], "blocklist"));
  if (io.json) io.out.write(toJson(list));
  else
    io.out.write(
      table(
        ["CLIENT", "FAILURES", "BLOCKED"],
        ((list["clients"] ?? []) as Row[]).map((c) => [
          text(c["clientId"]),
          text(c["failures"]),
          c["blocked"] ? "yes" : "no",
        ]),
      ),
    );
  return Exit.ok;
}

/** `unblock JOB [CLIENT]`: takes every blade (or one) off the job tree's blocklist. */
export async function unblock(io: Io, args: string[]): Promise<number> {
  const id = jobId(args[0], "unblock");
  const cleared = await io.server.call<number>(
    "clearJobBlocklist",
    ...(args[1] === undefined ? [id] : [id, await resolveOneClient(io, args[1])]),
  );
  io.out.write(
    io.json ? toJson({ jobId: id, cleared }) : `job ${id}: ${cleared} blade(s) taken off its blocklist\n`,
  );
  return Exit.ok;
}
