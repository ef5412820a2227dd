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
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startRedis, type TestRedis } from "../test/support/redis.js";

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

/** A private redis-server (test/support/redis.ts) under callgrind. */
export interface CallgrindRedis {
  server: TestRedis;
  /** Its dumps, `cg.out.N` (kept by `stop({ keep: true })`, for callgrind_annotate). */
  dir: string;
  /** Dumps the counts since the previous dump (or the start) under `label`, and returns them. */
  dump(label: string): number;
  stop(options?: { keep?: boolean }): Promise<void>;
}

/**
 * Only what Redis does for the commands it reads is counted: its timers and reply writes run as often as the
 * wall clock and the event loop decide, so on a loaded box they would add a few percent.
 */
export async function startCallgrindRedis(): Promise<CallgrindRedis> {
  const dir = mkdtempSync(join(tmpdir(), "openhq-callgrind-"));
  const out = join(dir, "cg.out");
  const server = await startRedis({
    wrap: (command) => [
      "valgrind",
      "--tool=callgrind",
      "--toggle-collect=readQueryFromClient",
      `--callgrind-out-file=${out}`,
      ...command,
    ],
  });
  let dumps = 0;
  return {
    server,
    dir,
    dump(label) {
      // callgrind_control takes an argument that starts with a digit for a pid, and says so with exit code 0.
      if (!/^[a-z]/i.test(label)) throw new Error(`callgrind dump label must start with a letter: ${label}`);
      execFileSync("callgrind_control", ["-d", label, String(server.process.pid)], { stdio: "ignore" });
      const text = readFileSync(`${out}.${++dumps}`, "utf8");
      const dumped = /^desc: Trigger: dump (.*)$/m.exec(text)?.[1];
      const total = /^(?:summary|totals): (\d+)/m.exec(text)?.[1];
      if (dumped !== label || total === undefined)
        throw new Error(`${out}.${dumps} is not the dump ${label}`);
      return Number(total);
    },
    async stop({ keep = false } = {}) {
      await server.stop();
      if (!keep) rmSync(dir, { recursive: true, force: true });
    },
  };
}
