// A redis-server under valgrind's callgrind, counting the instructions (Ir) it runs for the commands it reads:
// a figure the box's load and speed do not move (±1–2%), where Redis' CPU time in µs moves with both. Used by
// `npm run bench -- instructions` (the hot scripts alone) and `SCALE_CALLGRIND=1` in the scale bench's
// lifecycle phase (the whole farm's workload).
//
// The µs targets of the job lifecycle (≤ 60 µs without shares, ≤ 65 µs with 100) were set on a box where the
// code of 3b47f2f measured 58–60 µs; the same code measures 80–114 µs on this project's 2-core boxes (80–84 on
// 12-04, 94–114 on 12-05, interleaved with today's code). So a lifecycle meets them when it runs at most 60/60
// and 65/60 of that reference code's instructions under the same workload, whatever box measures it.

import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Instructions per job lifecycle of the reference code (3b47f2f, 58–60 µs where the targets were set). */
export const REFERENCE_IR = {
  /** `npm run bench -- instructions`: addJobs + moveToAssigned + moveToFinished, one client (2026-12-05). */
  scripts: 736_700,
  /** The scale bench's lifecycle phase under callgrind, idle farm subtracted: the lowest of 3 runs (to 796.7k; 2026-12-05). */
  farm: 792_400,
};

/** The lifecycle's instruction budget for a µs target, from the reference code's 60 µs. */
export function budget(reference: number, targetUs: number): number {
  return Math.round((reference * targetUs) / 60);
}

export function hasValgrind(): boolean {
  try {
    execFileSync("valgrind", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * The command prefix that runs a redis-server under callgrind, its counts dumped to `<dir>/cg.out.N`. Only
 * what Redis does for the commands it reads is counted: its timers and reply writes run as often as the wall
 * clock and the event loop decide, so on a loaded box they would add a few percent.
 */
export function underCallgrind(dir: string): (command: string[]) => string[] {
  return (command) => [
    "valgrind",
    "--tool=callgrind",
    "--toggle-collect=readQueryFromClient",
    `--callgrind-out-file=${join(dir, "cg.out")}`,
    ...command,
  ];
}

/**
 * Dumps the counts since the last dump under `label`. callgrind_control takes an argument that starts with a
 * digit for a pid, and says so with exit code 0: labels must start with a letter.
 */
export function dumpCounts(pid: number, label: string): void {
  if (!/^[a-z]/i.test(label)) throw new Error(`callgrind dump label must start with a letter: ${label}`);
  execFileSync("callgrind_control", ["-d", label, String(pid)], { stdio: "ignore" });
}

/** Instructions (Ir) of each dump in `dir`, by its label. */
export function dumpTotals(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const file of readdirSync(dir).filter((f) => f.startsWith("cg.out"))) {
    const text = readFileSync(join(dir, file), "utf8");
    const label = /^desc: Trigger: dump (.*)$/m.exec(text)?.[1];
    const total = /^(?:summary|totals): (\d+)/m.exec(text)?.[1];
    if (label !== undefined && total !== undefined) out.set(label, Number(total));
  }
  return out;
}
