// Crash safety: a small file per running job (pid, process group, attempt) in <state-dir>/jobs, written when
// the job starts and removed when its processes are gone. After the agent itself died, the next agent finds
// the files and kills what is left of those groups (docs/DESIGN.md principle 7). Nothing read back is trusted
// blindly: the folder is the agent's own (state-dir.ts), records must be well formed with pid = pgid > 1,
// and a group is signalled only when /proc shows it is the one the agent started (survives()).

import { readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { groupAlive, signalGroup } from "./control.js";
import { groupMembers, procStat } from "./proc.js";
import { secureDir } from "./state-dir.js";

export interface RunRecord {
  jobId: number;
  attempt: number;
  pid: number;
  pgid: number;
  /** /proc start time of `pid` (Linux), so a recycled pid is not mistaken for the job. */
  startTime: number | null;
  /** The agent process that started it. */
  agentPid: number;
}

export class JobsOnDisk {
  private readonly dir: string;
  /** What secureDir had to fix, for the agent to log. */
  readonly warnings: string[] = [];

  constructor(stateDir: string) {
    this.dir = join(stateDir, "jobs");
    for (const dir of [stateDir, this.dir]) {
      const warning = secureDir(dir);
      if (warning !== null) this.warnings.push(warning);
    }
  }

  write(record: Omit<RunRecord, "startTime" | "agentPid">): void {
    const full: RunRecord = {
      ...record,
      startTime: procStat(record.pid)?.startTime ?? null,
      agentPid: process.pid,
    };
    writeFileSync(this.path(record.jobId, record.attempt), JSON.stringify(full));
  }

  remove(jobId: number, attempt: number): void {
    rmSync(this.path(jobId, attempt), { force: true });
  }

  /** Records left by an earlier agent process. */
  leftovers(): RunRecord[] {
    const out: RunRecord[] = [];
    for (const name of readdirSync(this.dir)) {
      if (!name.endsWith(".json")) continue;
      try {
        const record = JSON.parse(readFileSync(join(this.dir, name), "utf8")) as RunRecord;
        if (!wellFormed(record)) rmSync(join(this.dir, name), { force: true });
        else if (record.agentPid !== process.pid) out.push(record);
      } catch {
        rmSync(join(this.dir, name), { force: true });
      }
    }
    return out;
  }

  private path(jobId: number, attempt: number): string {
    return join(this.dir, `${jobId}-${attempt}.json`);
  }
}

function wellFormed(r: RunRecord): boolean {
  const int = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  return (
    int(r.jobId) &&
    int(r.attempt) &&
    int(r.agentPid) &&
    int(r.pid) &&
    r.pid > 1 &&
    r.pgid === r.pid && // a job leads its own group; never 0, 1 or a negative (kill(-1) = everything)
    (r.startTime === null || int(r.startTime))
  );
}

/**
 * Whether the record's process group still has live processes that are the job's. On Linux: the leader
 * (pid = pgid) alive with the recorded start time, or, once the leader is gone, every member of the group
 * started after it and owned by `jobUid`, the user jobs run as. A record without a start time proves nothing
 * there. Elsewhere /proc cannot tell, and the 0700 state folder is the guard.
 */
export function survives(record: RunRecord, jobUid: number): boolean {
  if (!wellFormed(record)) return false;
  if (process.platform === "linux") {
    if (record.startTime === null) return false;
    const stat = procStat(record.pid);
    if (stat !== null && stat.state !== "Z")
      return stat.startTime === record.startTime && stat.pgid === record.pgid;
    const members = groupMembers(record.pgid) ?? [];
    const leaderStart = record.startTime;
    return (
      members.length > 0 &&
      members.every((pid) => {
        const member = procStat(pid);
        return member !== null && member.startTime >= leaderStart && ownedBy(pid, jobUid);
      })
    );
  }
  return groupAlive(record.pgid);
}

function ownedBy(pid: number, uid: number): boolean {
  try {
    return statSync(`/proc/${pid}`).uid === uid;
  } catch {
    return false;
  }
}

/** Kills a leftover group at once (its output pipe died with the old agent, nobody can read it). */
export function killLeftover(record: RunRecord): void {
  if (wellFormed(record) && record.pgid > 1) signalGroup(record.pgid, "SIGKILL");
}
