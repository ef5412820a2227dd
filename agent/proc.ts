// Linux /proc readings used to tell live processes from zombies and a process from a later one with the
// same pid. Other systems answer null ("cannot tell") and callers fall back to plain signals.

import { readFileSync, readdirSync } from "node:fs";

export interface ProcStat {
  pid: number;
  state: string;
  pgid: number;
  /** clock ticks since boot; with the pid it names one process for good */
  startTime: number;
  /** user + system CPU time, clock ticks */
  cpuTicks: number;
}

export function procStat(pid: number): ProcStat | null {
  if (process.platform !== "linux") return null;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses: split after its last ')'.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return {
    pid,
    state: fields[0] ?? "?",
    pgid: Number(fields[2]),
    cpuTicks: Number(fields[11]) + Number(fields[12]),
    startTime: Number(fields[19]),
  };
}

/** Live (non-zombie) members of a process group, or null where /proc is not available. */
export function groupMembers(pgid: number): number[] | null {
  if (process.platform !== "linux") return null;
  const members: number[] = [];
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const stat = procStat(pid);
    if (stat !== null && stat.pgid === pgid && stat.state !== "Z" && stat.state !== "X") members.push(pid);
  }
  return members;
}
