// The scheduler's view of one client connected to this coordinator: what it is, and what it runs now.
// Redis stays the truth (moveToAssigned re-checks everything); this view only lets dispatch propose well.

import type { GpuDevice } from "../../shared/protocol.js";
import type { ClientRecord } from "../store/clients.js";
import { NO_GROUPS, sameGroups, satisfiesAll, type ClientFacts } from "./conditions.js";
import { pickGpus, usableGpus } from "./gpus.js";
import type { JobInfo } from "./job-info.js";

const MAX_CACHED_CLASSES = 100_000;

export interface RunningShare {
  cpus: number;
  tags: string[];
  /** The GPU indices the job holds here. */
  gpus: number[];
}

export class FarmClient implements ClientFacts {
  hostname = "";
  name = "";
  os = "";
  cpus = 1;
  disabled = false;
  available = true;
  /** ms of the agent's last heartbeat recorded, and how long it may be silent and still answer (liveness.ts). */
  lastHeartbeat = Date.now();
  silentAfterMs = Infinity;
  terminated = false;
  heldFor: number | null = null;
  /** ms; quarantined before it (store/blades.ts). */
  quarantinedUntil = 0;
  /** On probation after a quarantine: one job at a time. */
  probation = false;
  /** Root job ids the client is blocklisted for (kept off their trees while another client could run them). */
  blockedRoots: ReadonlySet<number> = new Set<number>();
  groups: ReadonlySet<string> = NO_GROUPS;
  gpuDevices: readonly GpuDevice[] = [];
  readonly jobs = new Map<number, RunningShare>();
  /**
   * One set per re-read of the client's jobs in flight (Dispatcher.refreshClient): the jobs that left it
   * meanwhile, which the read may still list (its reply can come after their release notice).
   */
  readonly leftDuringRead = new Set<Set<number>>();
  /** Requirement class -> could this client ever run it (cpus, platform, conditions); see canRun. */
  private readonly classes = new Map<string, boolean>();

  constructor(readonly id: number) {}

  update(record: ClientRecord): void {
    this.classes.clear();
    this.hostname = record.hostname;
    this.name = record.name;
    this.os = record.platform;
    this.cpus = record.cpus;
    this.disabled = record.disabled;
    this.available = record.available;
    this.terminated = record.terminated;
    this.heldFor = record.heldFor;
    this.quarantinedUntil = record.quarantinedUntil;
    this.probation = record.probation;
    this.gpuDevices = record.gpuDevices;
  }

  /** A frozen agent keeps its link up but says nothing: it gets no new job until it speaks again. */
  get responding(): boolean {
    return Date.now() - this.lastHeartbeat <= this.silentAfterMs;
  }

  get quarantined(): boolean {
    return this.quarantinedUntil > Date.now();
  }

  /** The client's groups; its cached class verdicts go only when they changed (the scheduler's maintenance
   * hands every client its groups every 3 s). */
  setGroups(groups: ReadonlySet<string>): void {
    if (sameGroups(this.groups, groups)) return;
    this.groups = groups;
    this.classes.clear();
  }

  /** The static half of the rules (what the client is, not what it runs now), cached per requirement class. */
  canRun(job: JobInfo): boolean {
    let ok = this.classes.get(job.cls);
    if (ok === undefined) {
      ok =
        job.cpus <= this.cpus &&
        usableGpus(this.gpuDevices, job).length >= job.gpus &&
        (job.platforms === null || job.platforms.includes(this.os)) &&
        satisfiesAll(this, job.conditions);
      if (this.classes.size >= MAX_CACHED_CLASSES) this.classes.clear();
      this.classes.set(job.cls, ok);
    }
    return ok;
  }

  get usedCpus(): number {
    let used = 0;
    for (const share of this.jobs.values()) used += share.cpus;
    return used;
  }

  /** The GPU indices `job` would get here now (moveToAssigned picks the same), or null when too few are free. */
  freeGpus(job: JobInfo): number[] | null {
    if (job.gpus === 0) return [];
    const booked = new Set<number>();
    for (const share of this.jobs.values()) for (const index of share.gpus) booked.add(index);
    return pickGpus(this.gpuDevices, booked, job);
  }

  /** Could this client take any job at all right now? */
  get open(): boolean {
    return this.openAt(Date.now());
  }

  /** `open` at `now` (ms): a pass over thousands of clients reads the clock once. */
  openAt(now: number): boolean {
    if (this.disabled || !this.available || this.terminated) return false;
    if (now - this.lastHeartbeat > this.silentAfterMs || this.quarantinedUntil > now) return false;
    if (this.usedCpus >= this.cpus || (this.probation && this.jobs.size > 0)) return false;
    for (const share of this.jobs.values()) if (share.tags.includes("single")) return false;
    return true;
  }

  /** Packing rules of docs/COMPAT.md §4 against what the client runs now (conditions are checked separately). */
  fits(job: JobInfo): boolean {
    if (this.heldFor !== null && this.heldFor !== job.id) return false;
    if (job.single && this.jobs.size > 0) return false;
    if (this.usedCpus + job.cpus > this.cpus) return false;
    for (const share of this.jobs.values()) {
      if (share.tags.includes("single")) return false;
      if (job.singleTags.some((t) => share.tags.includes(t))) return false;
    }
    if (this.freeGpus(job) === null) return false;
    return job.platforms === null || job.platforms.includes(this.os);
  }
}
