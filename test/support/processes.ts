import { execFileSync } from "node:child_process";

/** Processes of a process group that are still alive (zombies left for a non-reaping PID 1 do not count). */
export function livePids(pgid: number): string[] {
  let out: string;
  try {
    out = execFileSync("ps", ["-o", "pid=,stat=", "-g", String(pgid)], { encoding: "utf8" });
  } catch {
    return [];
  }
  return out
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !/\sZ/.test(l));
}

/** Whether a process with this id exists (signal 0 checks without sending anything). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
