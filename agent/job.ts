// One assigned attempt of a job on this agent: runs its command (and its on* hooks) through the runner,
// turns the output into numbered events in its spool, and carries out cancel, pause, resume, maxTime and the
// stall watch (a run without output for its stallTimeout is killed as hung).

import type { AssignMessage, FinishedMessage, RunningJob } from "../shared/protocol.js";
import { Chunker } from "./chunker.js";
import { signalGroup, terminateGroup } from "./control.js";
import type { JobAccount } from "./job-account.js";
import { jobEnvironment, type AgentFacts } from "./job-env.js";
import type { JobsOnDisk } from "./jobs-on-disk.js";
import type { Logger } from "./log.js";
import { ProgressParser } from "./progress.js";
import { runCommand, type ExitStatus, type RunningCommand } from "./runner.js";
import { shellCommand, type ShellCommand } from "./shell.js";
import { Spool, type Outlet, type SpoolLimits } from "./spool.js";

export interface JobHost {
  facts(): AgentFacts;
  log: Logger;
  disk: JobsOnDisk;
  spoolDir: string;
  outlet: Outlet;
  spoolLimits: SpoolLimits;
  killGraceMs: number;
  platform: NodeJS.Platform;
  /** The account job commands run as; null = the agent's own. */
  account: JobAccount | null;
  /** The attempt is over and the coordinator has acked all of it. */
  settled(job: Job): void;
}

export type JobPhase = "running" | "paused" | "finished";
type StopReason = "cancelled" | "maxTime" | "stalled";

/** Longest single wait of the maxTime timer (a day; well under Node's 2^31-1 ms limit). */
const MAX_TIMER_STEP_MS = 24 * 3600 * 1000;

export class Job {
  readonly spool: Spool;
  phase: JobPhase = "running";
  private command: RunningCommand | null = null;
  private stopReason: StopReason | null = null;
  private readonly chunker: Chunker;
  private readonly progress = new ProgressParser();
  private pendingProgress: number | null = null;
  private maxTimer: NodeJS.Timeout | null = null;
  /** ms of run time left before maxTime; paused time does not count. */
  private timeLeftMs: number | null;
  private runningSince = Date.now();
  /** ms without output after which the run counts as hung; null = no stall watch. */
  private readonly stallMs: number | null;
  private stallTimer: NodeJS.Timeout | null = null;
  /** When output last came, moved on by paused time and by time the spool held the output back. */
  private lastOutputAt = Date.now();
  /** While paused or held back: ms of silence before it (the watch goes on from there). */
  private silentBeforeHold: number | null = null;
  private readonly env: Record<string, string>;
  private reported = false;
  private forgotten = false;

  constructor(
    readonly spec: AssignMessage,
    private readonly host: JobHost,
  ) {
    this.spool = new Spool(spec.jobId, spec.attempt, host.spoolDir, host.outlet, host.spoolLimits);
    this.chunker = new Chunker((chunk) => {
      const { jobId, attempt } = spec;
      if (chunk.encoding === undefined) this.spool.push({ type: "output", jobId, attempt, data: chunk.data });
      else this.spool.push({ type: "output", jobId, attempt, data: chunk.data, encoding: chunk.encoding });
      if (this.pendingProgress !== null) {
        this.spool.push({ type: "progress", jobId, attempt, progress: this.pendingProgress });
        this.pendingProgress = null;
      }
    });
    this.timeLeftMs = spec.maxTime !== null && spec.maxTime > 0 ? spec.maxTime * 1000 : null;
    const stall = spec.stallTimeout ?? 0;
    this.stallMs = Number.isFinite(stall) && stall > 0 ? stall * 1000 : null;
    this.env = jobEnvironment(spec, host.facts());
  }

  get key(): string {
    return jobKey(this.spec.jobId, this.spec.attempt);
  }

  running(): RunningJob {
    return { jobId: this.spec.jobId, attempt: this.spec.attempt, pid: this.command?.pid ?? -1 };
  }

  /** Runs the whole attempt; resolves when the finished event is queued. */
  async run(): Promise<void> {
    const { jobId, attempt } = this.spec;
    this.host.log.info(`Running job ${jobId}`);
    const status = await this.runMain();
    this.clearMaxTimer();
    this.clearStallTimer();
    if (status.spawnError === undefined && this.stopReason === null) {
      const hook = status.exitCode === 0 ? this.spec.onSuccess : this.spec.onError;
      if (hook) await this.runHook(hook);
    }
    this.chunker.flush(true);
    const last = this.progress.end();
    if (last !== null) this.spool.push({ type: "progress", jobId, attempt, progress: last });
    const reason: FinishedMessage["reason"] =
      status.spawnError !== undefined ? "spawnError" : (this.stopReason ?? "exited");
    this.spool.push({
      type: "finished",
      jobId,
      attempt,
      exitCode: status.exitCode,
      signal: status.signal,
      reason,
      ...(reason === "stalled" && this.stallMs !== null ? { stalledAfter: this.stallMs / 1000 } : {}),
    });
    this.phase = "finished";
    this.host.disk.remove(jobId, attempt);
    this.host.log.info(
      `Finished job ${jobId} (attempt ${attempt}, ${reason}, exit ${status.exitCode ?? "-"}${status.signal ? `, ${status.signal}` : ""})`,
    );
    this.checkSettled();
  }

  /** The coordinator applied everything up to `seq`. */
  ack(seq: number): void {
    this.spool.ack(seq);
    this.checkSettled();
  }

  /** Cancel (runs onCancel first), eject (no hook), maxTime or a stall: the group gets SIGTERM, grace, SIGKILL. */
  async stop(reason: StopReason, runOnCancel: boolean): Promise<void> {
    if (this.phase === "finished" || this.stopReason !== null || this.command === null) return;
    this.stopReason = reason;
    this.host.log.info(`Cancelling job ${this.spec.jobId} (attempt ${this.spec.attempt}, ${reason})`);
    this.clearMaxTimer();
    this.clearStallTimer();
    if (runOnCancel && this.spec.onCancel) await this.runHook(this.spec.onCancel);
    await terminateGroup(this.command.pgid, this.host.killGraceMs, this.host.platform);
  }

  /** The coordinator no longer wants this attempt: its events need no ack, it ends as soon as it stopped. */
  forget(): void {
    this.forgotten = true;
    this.spool.discard();
    this.checkSettled();
  }

  pause(): void {
    if (this.phase !== "running" || this.command === null) return;
    if (!signalGroup(this.command.pgid, "SIGSTOP", this.host.platform)) {
      this.host.log.warn(`job ${this.spec.jobId}: pause is not possible on ${this.host.platform}`);
      return;
    }
    this.phase = "paused";
    this.pauseMaxTimer();
    this.holdStallWatch();
    this.spool.push({ type: "paused", jobId: this.spec.jobId, attempt: this.spec.attempt });
  }

  resume(): void {
    if (this.phase !== "paused" || this.command === null) return;
    signalGroup(this.command.pgid, "SIGCONT", this.host.platform);
    this.phase = "running";
    this.startMaxTimer();
    this.releaseStallWatch();
    this.spool.push({ type: "resumed", jobId: this.spec.jobId, attempt: this.spec.attempt });
  }

  private async runMain(): Promise<ExitStatus> {
    const { jobId, attempt } = this.spec;
    const choice = shellCommand(this.spec.shell, this.spec.command, this.host.platform);
    if (!choice.ok) {
      this.spool.push({ type: "started", jobId, attempt, pid: -1 });
      this.chunker.write(Buffer.from(choice.message));
      return { exitCode: null, signal: null, spawnError: choice.message.trim() };
    }
    const command = this.runAsAccount(choice.command);
    this.command = command;
    this.spool.push({ type: "started", jobId, attempt, pid: command.pid });
    // A command that could not start has no process group to record (its done says why).
    if (command.pid > 0) this.host.disk.write({ jobId, attempt, pid: command.pid, pgid: command.pgid });
    this.startMaxTimer();
    this.lastOutputAt = Date.now();
    this.armStallTimer();
    const status = await command.done;
    if (status.spawnError !== undefined)
      this.chunker.write(Buffer.from(`openhq-agent: ${status.spawnError}\n`));
    return status;
  }

  private runAsAccount(command: ShellCommand): RunningCommand {
    return runCommand(command, this.env, (data) => this.onData(data), this.host.platform, this.host.account);
  }

  /** Hooks share the job's environment and output stream, and are not subject to cancel. */
  private async runHook(text: string): Promise<void> {
    const choice = shellCommand(this.spec.shell, text, this.host.platform);
    if (!choice.ok) {
      this.chunker.write(Buffer.from(choice.message));
      return;
    }
    const status = await this.runAsAccount(choice.command).done;
    if (status.spawnError !== undefined)
      this.chunker.write(Buffer.from(`openhq-agent: ${status.spawnError}\n`));
  }

  private onData(data: Buffer): void {
    this.lastOutputAt = Date.now();
    const found = this.progress.feed(data);
    if (found !== null) this.pendingProgress = found;
    this.chunker.write(data);
    if (this.spool.full() && this.command !== null) {
      const command = this.command;
      command.pauseOutput();
      // A command blocked on a full pipe is not hung: the watch waits while the spool holds it back.
      this.holdStallWatch();
      void this.spool.room().then(() => {
        command.resumeOutput();
        if (this.phase === "running") this.releaseStallWatch();
      });
    }
  }

  /** Checks for a stall when the silence could first reach stallMs; output meanwhile moves the check on. */
  private armStallTimer(): void {
    if (this.stallMs === null || this.stopReason !== null) return;
    this.clearStallTimer();
    const left = this.stallMs - (Date.now() - this.lastOutputAt);
    if (left > 0) {
      this.stallTimer = setTimeout(() => this.armStallTimer(), Math.min(left, MAX_TIMER_STEP_MS));
      return;
    }
    const seconds = this.stallMs / 1000;
    this.host.log.warn(`job ${this.spec.jobId}: stalled, no output for ${seconds} s`);
    this.chunker.write(Buffer.from(`\nopenhq-agent: stalled: no output for ${seconds} s; killing the job\n`));
    void this.stop("stalled", false);
  }

  /** Paused, or output held back: the silence so far is kept, the clock stops. */
  private holdStallWatch(): void {
    if (this.stallMs === null || this.silentBeforeHold !== null) return;
    this.silentBeforeHold = Date.now() - this.lastOutputAt;
    this.clearStallTimer();
  }

  private releaseStallWatch(): void {
    if (this.silentBeforeHold === null) return;
    this.lastOutputAt = Date.now() - this.silentBeforeHold;
    this.silentBeforeHold = null;
    this.armStallTimer();
  }

  private clearStallTimer(): void {
    if (this.stallTimer !== null) clearTimeout(this.stallTimer);
    this.stallTimer = null;
  }

  private startMaxTimer(): void {
    if (this.timeLeftMs === null) return;
    this.runningSince = Date.now();
    this.armMaxTimer();
  }

  /** A Node timer fires at once beyond 2^31-1 ms (24.8 days): a longer maxTime is waited for in steps. */
  private armMaxTimer(): void {
    const left = (this.timeLeftMs ?? 0) - (Date.now() - this.runningSince);
    if (left <= 0) {
      this.maxTimer = null;
      void this.stop("maxTime", false);
      return;
    }
    this.maxTimer = setTimeout(() => this.armMaxTimer(), Math.min(left, MAX_TIMER_STEP_MS));
  }

  private pauseMaxTimer(): void {
    if (this.maxTimer === null || this.timeLeftMs === null) return;
    this.clearMaxTimer();
    this.timeLeftMs = Math.max(0, this.timeLeftMs - (Date.now() - this.runningSince));
  }

  private clearMaxTimer(): void {
    if (this.maxTimer !== null) clearTimeout(this.maxTimer);
    this.maxTimer = null;
  }

  private checkSettled(): void {
    if (this.phase === "finished" && (this.forgotten || this.spool.settled()) && !this.reported) {
      this.reported = true;
      this.spool.discard();
      this.host.settled(this);
    }
  }
}

export function jobKey(jobId: number, attempt: number): string {
  return `${jobId}:${attempt}`;
}
