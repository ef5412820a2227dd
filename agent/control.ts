// Signals to a job's whole process tree. On POSIX a job leads its own process group, so a signal to -pgid
// reaches every descendant that stayed in it (`sleep 1000 & wait` included). Windows has no groups or
// SIGSTOP: the tree is killed with `taskkill /T /F`, and pause/resume are refused.

import { execFile } from "node:child_process";
import { groupMembers } from "./proc.js";

export type TreeSignal = "SIGTERM" | "SIGKILL" | "SIGSTOP" | "SIGCONT";

/** Sends `signal` to the group led by `pgid`; false when no process of the group is left. */
export function signalGroup(pgid: number, signal: TreeSignal, platform = process.platform): boolean {
  if (platform === "win32") {
    if (signal === "SIGTERM" || signal === "SIGKILL") void killTreeWindows(pgid);
    return signal === "SIGTERM" || signal === "SIGKILL";
  }
  // kill(0) and kill(-1) would signal this agent's own group or every process it may signal.
  if (!Number.isSafeInteger(pgid) || pgid <= 1) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw err;
  }
}

/** Whether any live process of the group is left (zombies waiting for a reaper do not count). */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  const members = groupMembers(pgid);
  return members === null || members.length > 0;
}

/** Windows: ends the process and all its descendants. Resolves with taskkill's exit code. */
export function killTreeWindows(pid: number): Promise<number> {
  return new Promise((resolve) => {
    execFile("taskkill", ["/T", "/F", "/PID", String(pid)], { windowsHide: true }, (err) => {
      const code =
        err && typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 0;
      resolve(err ? code || 1 : 0);
    });
  });
}

/**
 * SIGTERM to the group, then SIGKILL once `graceMs` has passed if anything is left. A stopped (paused)
 * group gets SIGCONT too, since a stopped process only acts on SIGTERM once it runs again.
 */
export async function terminateGroup(
  pgid: number,
  graceMs: number,
  platform = process.platform,
): Promise<void> {
  if (!signalGroup(pgid, "SIGTERM", platform) || platform === "win32") return;
  signalGroup(pgid, "SIGCONT", platform);
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!groupAlive(pgid)) return;
    await new Promise((r) => setTimeout(r, Math.min(50, Math.max(1, deadline - Date.now()))));
  }
  signalGroup(pgid, "SIGKILL", platform);
}
