// `openhq submit SPEC.json | -- command…` and `--wait`: submit, then follow the roots until they finish,
// drawing a progress bar on a terminal; the exit code says how the jobs ended.

import { readFileSync } from "node:fs";
import { userInfo } from "node:os";
import { isFinished, type JobStatus } from "../shared/statuses.js";
import type { HQServer, Job, JobSpec, JobWith } from "../shared/client/index.js";
import { lastExit } from "../shared/job-log.js";
import { CliError, Exit } from "./exit-codes.js";
import { bar, toJson } from "./format.js";

export interface SubmitOptions {
  specFile?: string;
  command: string[];
  name?: string;
  priority?: number;
  cpus?: number;
  tags?: string[];
  group?: string;
  /** KEY=VALUE pairs */
  env?: string[];
  wait: boolean;
  json: boolean;
  pollMs: number;
}

/** The command-line overrides (--priority --cpus --tags --group --env) as spec fields. */
function overrides(options: SubmitOptions): Partial<JobSpec> {
  const out: Partial<JobSpec> = {};
  if (options.priority !== undefined) out.priority = options.priority;
  if (options.cpus !== undefined) {
    if (options.cpus < 1) throw new CliError("submit: --cpus must be at least 1", Exit.usage);
    out.cpus = options.cpus;
  }
  const tags = (options.tags ?? [])
    .flatMap((t) => t.split(","))
    .map((t) => t.trim())
    .filter(Boolean);
  if (tags.length > 0) out.tags = tags;
  if (options.group !== undefined) out.hostgroup = options.group;
  if (options.env !== undefined && options.env.length > 0) {
    const env: Record<string, string> = {};
    for (const pair of options.env) {
      const eq = pair.indexOf("=");
      if (eq <= 0) throw new CliError(`submit: --env expects KEY=VALUE, got ${pair}`, Exit.usage);
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    out.environment = env;
  }
  return out;
}

export function buildSpecs(options: SubmitOptions): JobSpec[] {
  const extra = overrides(options);
  if (options.command.length > 0) {
    // One argument is a command line for the job's shell ('echo a; exit 3'); several are words, quoted.
    const command =
      options.command.length === 1
        ? (options.command[0] as string)
        : options.command.map(shellQuote).join(" ");
    return [
      {
        name: options.name ?? command.slice(0, 80),
        command,
        submittedBy: userInfo().username,
        ...extra,
      },
    ];
  }
  if (!options.specFile) throw new CliError("submit: give a JSON spec file or `-- command…`", Exit.usage);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(options.specFile, "utf8"));
  } catch (err) {
    throw new CliError(`submit: cannot read ${options.specFile}: ${(err as Error).message}`, Exit.usage);
  }
  const specs = (Array.isArray(parsed) ? parsed : [parsed]) as JobSpec[];
  for (const spec of specs) {
    if (typeof spec !== "object" || spec === null || typeof spec.name !== "string") {
      throw new CliError(`submit: ${options.specFile}: every job spec needs a "name"`, Exit.usage);
    }
    if (options.name !== undefined) spec.name = options.name;
    const { environment, ...rest } = extra;
    Object.assign(spec, rest);
    if (environment) spec.environment = { ...spec.environment, ...environment };
    spec.submittedBy ??= userInfo().username;
  }
  return specs;
}

/** Quotes a word for a POSIX shell unless it is plainly safe. */
function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

export async function submit(
  server: HQServer,
  options: SubmitOptions,
  out: NodeJS.WritableStream,
): Promise<number> {
  const specs = buildSpecs(options);
  const ids = await server.newjob(specs);
  // newjob answers roots first, then nested children (docs/COMPAT.md §2).
  const roots = ids.slice(0, specs.length);
  if (!options.wait) {
    out.write(
      options.json ? toJson({ ids, roots }) : `submitted ${roots.map((id) => `job ${id}`).join(", ")}\n`,
    );
    return Exit.ok;
  }
  if (!options.json) out.write(`submitted ${roots.map((id) => `job ${id}`).join(", ")}; waiting\n`);
  const jobs = await waitFor(server, roots, options.pollMs, !options.json && process.stderr.isTTY === true);
  const code = exitCodeFor(jobs.map((j) => j.status as JobStatus));
  const failed = code === Exit.ok ? [] : await failedJobs(server, roots);
  if (options.json) out.write(toJson({ ids, roots, jobs, failed, exitCode: code }));
  else {
    for (const job of jobs) out.write(`job ${job.id} ${job.status}\n`);
    out.write(failureReport(failed));
  }
  return code;
}

/** Jobs of the trees walked at most, so a huge tree cannot keep the CLI reading forever. */
const MAX_WALK = 20_000;
/** Failed jobs named in the report (the count says how many more). */
const MAX_NAMED = 10;
const LAST_LINES = 5;

export interface FailedJob {
  id: number;
  name: string;
  status: string;
  exitCode: string;
  lastLines: string[];
}

/** The failed/abandoned jobs of the trees under `roots` that failed themselves (not only by a child). */
export async function failedJobs(server: HQServer, roots: number[]): Promise<FailedJob[]> {
  const bad: JobWith<"id" | "name" | "status" | "children" | "logs">[] = [];
  let level = roots;
  let seen = 0;
  while (level.length > 0 && seen < MAX_WALK) {
    const rows = (
      await server.getJobs(level.slice(0, MAX_WALK - seen), ["id", "name", "status", "children", "logs"])
    ).filter((j) => j !== null);
    seen += rows.length;
    const next: number[] = [];
    for (const job of rows) {
      const children = job.children ?? [];
      next.push(...children);
      if (job.status === "failed" || job.status === "abandoned") {
        // A parent failed by a child is explained by that child: name it only when it ran and failed itself.
        if (children.length === 0 || lastExit(job.logs) !== "") bad.push(job);
      }
    }
    level = next;
  }
  bad.sort((a, b) => Number(a.id) - Number(b.id));
  const named = bad.slice(0, MAX_NAMED);
  const outputs = await Promise.all(
    named.map((j) => server.getJobOutput(Number(j.id), 4000).catch(() => "")),
  );
  return bad.map((j, i) => {
    const text = (outputs[i] ?? "").trimEnd();
    return {
      id: Number(j.id),
      name: String(j.name ?? ""),
      status: String(j.status ?? ""),
      exitCode: lastExit(j.logs),
      lastLines: text === "" ? [] : text.split("\n").slice(-LAST_LINES),
    };
  });
}

export function failureReport(failed: FailedJob[]): string {
  if (failed.length === 0) return "";
  let out = `${failed.length} job${failed.length === 1 ? "" : "s"} failed:\n`;
  for (const f of failed.slice(0, MAX_NAMED)) {
    out += `  job ${f.id} "${f.name}" ${f.status}${f.exitCode ? ` (exit ${f.exitCode})` : ""}\n`;
    for (const line of f.lastLines) out += `    | ${line}\n`;
  }
  if (failed.length > MAX_NAMED) out += `  … and ${failed.length - MAX_NAMED} more\n`;
  return out;
}

async function waitFor(server: HQServer, roots: number[], pollMs: number, drawBar: boolean): Promise<Job[]> {
  for (;;) {
    const rows = await server.getJobs(roots, ["id", "status", "overallProgress", "progress"]);
    // A root deleted while we wait counts as cancelled.
    const jobs = rows.map((j, i): Job => j ?? { id: roots[i] ?? 0, status: "cancelled" });
    const done = jobs.every((j) => isFinished(j.status));
    if (drawBar) {
      const fraction =
        jobs.reduce((sum, j) => sum + (done ? 1 : Number(j.overallProgress ?? j.progress ?? 0)), 0) /
        Math.max(1, jobs.length);
      const status = [...new Set(jobs.map((j) => j.status))].join(",");
      process.stderr.write(`\r${bar(fraction)} ${status.padEnd(12)}`);
      if (done) process.stderr.write("\n");
    }
    if (done) return jobs;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** All succeeded -> 0; any failed/abandoned -> 1; otherwise any cancelled -> 6. */
export function exitCodeFor(statuses: JobStatus[]): number {
  if (statuses.some((s) => s === "failed" || s === "abandoned")) return Exit.jobFailed;
  if (statuses.some((s) => s === "cancelled")) return Exit.jobCancelled;
  return Exit.ok;
}
