// `openhq submit SPEC.json | -- command…` and `--wait`: submit, then follow the roots until they finish,
// drawing a progress bar on a terminal; the exit code says how the jobs ended.

import { readFileSync } from "node:fs";
import { userInfo } from "node:os";
import { FINISHED_STATUSES, type JobStatus } from "../shared/statuses.js";
import type { HQServer, Job, JobSpec } from "../shared/client/index.js";
import { CliError, Exit } from "./exit-codes.js";
import { bar, toJson } from "./format.js";

export interface SubmitOptions {
  specFile?: string;
  command: string[];
  name?: string;
  priority?: number;
  wait: boolean;
  json: boolean;
  pollMs: number;
}

export function buildSpecs(options: SubmitOptions): JobSpec[] {
  if (options.command.length > 0) {
    const command = options.command.map(shellQuote).join(" ");
    return [
      {
        name: options.name ?? command.slice(0, 80),
        command,
        submittedBy: userInfo().username,
        ...(options.priority === undefined ? {} : { priority: options.priority }),
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
    if (options.priority !== undefined) spec.priority = options.priority;
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
  // newjob answers roots first, then nested children (COMPAT.md §2).
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
  if (options.json) out.write(toJson({ ids, roots, jobs, exitCode: code }));
  else for (const job of jobs) out.write(`job ${job.id} ${job.status}\n`);
  return code;
}

async function waitFor(server: HQServer, roots: number[], pollMs: number, drawBar: boolean): Promise<Job[]> {
  for (;;) {
    const rows = await server.getJobs(roots, ["id", "status", "overallProgress", "progress"]);
    // A root deleted while we wait counts as cancelled.
    const jobs = rows.map((j, i): Job => j ?? { id: roots[i] ?? 0, status: "cancelled" });
    const done = jobs.every((j) => FINISHED_STATUSES.includes(j.status as JobStatus));
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
