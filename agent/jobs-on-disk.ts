// Crash safety: a small file per running job (pid, process group, attempt) in <state-dir>/jobs, written when
// the job starts and removed when its processes are gone. After the agent itself died, the next agent finds
// the files and kills what is left of those groups (DESIGN principle 7).

import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { groupAlive, signalGroup } from "./control.js";
import { procStat } from "./proc.js";

export interface JobRecord {
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

  constructor(stateDir: string) {
    this.dir = join(stateDir, "jobs");
    mkdirSync(this.dir, { recursive: true });
  }

  write(record: Omit<JobRecord, "startTime" | "agentPid">): void {
    const full: JobRecord = {
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
  leftovers(): JobRecord[] {
    const out: JobRecord[] = [];
    for (const name of readdirSync(this.dir)) {
      if (!name.endsWith(".json")) continue;
      try {
        const record = JSON.parse(readFileSync(join(this.dir, name), "utf8")) as JobRecord;
        if (record.agentPid !== process.pid) out.push(record);
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

/** Whether the record's process group still has live processes (and its leader is not a recycled pid). */
export function survives(record: JobRecord): boolean {
  if (record.startTime !== null) {
    const stat = procStat(record.pid);
    // Leader gone: the group may live on in its children, which keep the pgid.
    if (stat !== null && stat.startTime !== record.startTime) return false;
  }
  return groupAlive(record.pgid);
}

/** Kills a leftover group at once (its output pipe died with the old agent, nobody can read it). */
export function killLeftover(record: JobRecord): void {
  signalGroup(record.pgid, "SIGKILL");
}
