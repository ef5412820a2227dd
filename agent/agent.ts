// The agent: owns the link, the jobs, their journals and the current state (agent/states/). It does what
// no state changes (a welcome's bookkeeping, acks, availability rules, a refusal) and what the states ask
// (start, refuse or control a job, shut down, beat); the state decides which of those a message means.

import { readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import type { Server } from "node:http";
import { hostname } from "node:os";
import { join } from "node:path";
import type {
  AssignMessage,
  AvailabilityRule,
  CoordinatorMessage,
  HeartbeatMessage,
  HelloMessage,
  JobControlMessage,
  RunningJob,
  WelcomeMessage,
} from "../shared/protocol.js";
import { PROTOCOL_VERSION } from "../shared/protocol.js";
import { startApi, stopApi } from "./api.js";
import { ApiCallReporter } from "./api-calls.js";
import { isAvailable, validRules } from "./availability.js";
import type { AgentConfig } from "./config.js";
import { terminateGroup } from "./control.js";
import { GpuWatcher } from "./gpus.js";
import { Heartbeat } from "./heartbeat.js";
import { IdleWatcher } from "./idle/index.js";
import type { AgentFacts } from "./job-env.js";
import { Job, jobKey, type JobHost } from "./job.js";
import { CredentialFile } from "./credential.js";
import { resolveJobAccount } from "./job-account.js";
import { JobsOnDisk, killLeftover, survives } from "./jobs-on-disk.js";
import { CoordinatorLink, linkUrl } from "./link.js";
import type { Logger } from "./log.js";
import { DEFAULT_SPOOL_LIMITS, leftSpools, Spool, spoolFileName } from "./spool.js";
import { DisconnectedState } from "./states/disconnected.js";
import type { State } from "./states/state.js";
import { machineFacts, primaryIp, Stats } from "./stats.js";
import { checkTlsPin } from "./tls-pin.js";
import { forgetUpgradeFailure, upgradeFailure, upgradeSelf, upgradeSource } from "./upgrade.js";

export interface AgentOptions {
  version: string;
  installDir: string;
  platform?: NodeJS.Platform;
  /** How the process ends; main.ts passes process.exit. */
  exit(code: number): void;
}

/** A refusal repeated on every retry is logged again after this long. */
const REPEAT_REFUSAL_MS = 60_000;

export class Agent {
  readonly jobs = new Map<string, Job>();
  readonly link: CoordinatorLink;
  readonly disk: JobsOnDisk;
  private readonly credential: CredentialFile;
  shutdown: { exitCode: number; goodbye: boolean } | null = null;
  private state: State;
  private welcome: WelcomeMessage | null = null;
  /** `assign` messages received since the last welcome (heartbeat.assigns). */
  private assignsHeard = 0;
  /** The last refusal logged: the same one again is not logged on every retry. */
  private lastRefusal: { reason: string; at: number } | null = null;
  private rules: AvailabilityRule[] = [];
  /** Attempts an earlier agent process left behind, killed at start; reported in the next hello. */
  private lost: RunningJob[] = [];
  /**
   * Attempts that ended under an earlier agent process before the coordinator acked all their events: their
   * journals are resent after each welcome until acked (they count as running until then).
   */
  private readonly replays = new Map<string, Spool>();
  private api: Server | null = null;
  private readonly heartbeat: Heartbeat;
  private readonly stats: Stats;
  private readonly idle = new IdleWatcher();
  private readonly gpus = new GpuWatcher();
  private readonly platform: NodeJS.Platform;
  private readonly host: JobHost;
  /** Calls to port 5001, for the farm's audit log. */
  private readonly apiCalls: ApiCallReporter;
  /** The uid job processes run as: a leftover process group is only the agent's when they own it. */
  private readonly jobUid: number;

  constructor(
    readonly config: AgentConfig,
    readonly log: Logger,
    private readonly options: AgentOptions,
  ) {
    this.platform = options.platform ?? process.platform;
    const account = resolveJobAccount(config.jobUser, this.platform);
    this.jobUid = account?.uid ?? process.getuid?.() ?? -1;
    this.disk = new JobsOnDisk(config.stateDir);
    checkTlsPin(config.stateDir, config.tls, linkUrl(config.server, config.serverPort, config.tls));
    this.credential = new CredentialFile(
      config.stateDir,
      linkUrl(config.server, config.serverPort, config.tls),
    );
    this.stats = new Stats(this.platform);
    this.heartbeat = new Heartbeat(config.heartbeatIntervalMs, () => this.sendHeartbeat());
    this.link = new CoordinatorLink(
      linkUrl(config.server, config.serverPort, config.tls),
      {
        opened: (localAddress) => this.sayHello(localAddress),
        message: (message) => this.onMessage(message),
        closed: () => this.onLinkClosed(),
      },
      log,
      config.caFile === null ? undefined : readFileSync(config.caFile, "utf8"),
    );
    this.host = {
      facts: () => this.facts(),
      log,
      disk: this.disk,
      spoolDir: join(config.stateDir, "spool"),
      outlet: { isOpen: () => this.state.linked && this.link.isOpen(), send: (text) => this.link.send(text) },
      spoolLimits: DEFAULT_SPOOL_LIMITS,
      killGraceMs: config.killGraceMs,
      platform: this.platform,
      account,
      settled: (job) => {
        this.jobs.delete(job.key);
        this.state.jobSettled();
      },
    };
    this.state = new DisconnectedState(this);
    this.rules = this.loadRules();
    this.apiCalls = new ApiCallReporter(this.host.outlet, log);
  }

  async start(): Promise<void> {
    for (const warning of this.disk.warnings) this.log.warn(`state folder: ${warning}`);
    // Probed while the rest starts, known before the first hello.
    const gpus = this.gpus.start((line) => this.log.info(line));
    await this.recoverLeftovers();
    this.api = await startApi(
      this.config.port,
      this.config.bind,
      this.config.farmSecret,
      {
        wakeup: () => this.wakeup(),
        terminate: () => this.beginShutdown(0, true),
        called: this.apiCalls.called,
      },
      this.log,
      { total: this.config.maxConnections, perAddress: this.config.maxConnectionsPerAddress },
      () => this.welcome?.clientApiAuth !== false,
    );
    this.stats.start();
    this.idle.start();
    await gpus;
    this.log.info(
      `openhq-agent ${this.options.version} on ${hostname()} (client port ${this.config.port}), coordinator ${this.link.url}`,
    );
    this.link.start();
  }

  setState(state: State): void {
    const from = this.state;
    this.state = state;
    this.entered(from);
  }

  private entered(from: State): void {
    this.log.info(`state ${from.name} -> ${this.state.name}`);
    this.state.enter();
  }

  startJob(spec: AssignMessage): void {
    const key = jobKey(spec.jobId, spec.attempt);
    if (this.jobs.has(key)) return; // a repeated assignment after a reconnect
    const job = new Job(spec, this.host);
    this.jobs.set(key, job);
    void job.run().catch((err: Error) => this.log.error(`job ${spec.jobId}: ${err.stack ?? err.message}`));
  }

  /** Answers an assignment that cannot run here with a failed attempt, so the coordinator moves on. */
  refuseJob(spec: AssignMessage, reason: string): void {
    this.log.warn(`refused job ${spec.jobId}: ${reason}`);
    const spool = new Spool(spec.jobId, spec.attempt, this.host.spoolDir, this.host.outlet);
    const { jobId, attempt } = spec;
    spool.push({ type: "output", jobId, attempt, data: `openhq-agent: ${reason}\n` });
    spool.push({ type: "finished", jobId, attempt, exitCode: null, signal: null, reason: "spawnError" });
    spool.discard();
  }

  /** cancel, eject, pause, resume of a running attempt (unknown attempts are ignored). */
  controlJob(message: JobControlMessage): void {
    const job = this.jobs.get(jobKey(message.jobId, message.attempt));
    if (job === undefined) return;
    if (message.type === "pause") job.pause();
    else if (message.type === "resume") job.resume();
    else void job.stop("cancelled", message.type === "cancel");
  }

  beginShutdown(exitCode: number, goodbye: boolean): void {
    if (this.shutdown !== null) return;
    this.shutdown = { exitCode, goodbye };
    this.state.shutdownAsked();
    this.wakeup();
  }

  wakeup(): void {
    this.state.wakeup();
  }

  beatNow(): void {
    this.heartbeat.now();
  }

  /** Ends the process: stops timers and servers first. Job processes are not touched here. */
  async exit(code: number): Promise<void> {
    this.heartbeat.stop();
    this.stats.stop();
    this.idle.stop();
    this.gpus.stop();
    await this.link.close();
    if (this.api !== null) await stopApi(this.api);
    this.log.info(`exiting with code ${code}`);
    this.options.exit(code);
  }

  /** upgradeClients(): replaces the single-file agent with the coordinator's build (agent/upgrade.ts). */
  upgradeSelf(): Promise<void> {
    return upgradeSelf(upgradeSource(this.config), this.log, this.config.stateDir);
  }

  /** SIGTERM/SIGINT: kill every job's processes (the coordinator retries them elsewhere), then exit. */
  async stopNow(): Promise<void> {
    this.log.info(`stopping: killing ${this.jobs.size} job(s)`);
    await Promise.all(
      [...this.jobs.values()].map(async (job) => {
        job.forget();
        const pid = job.running().pid;
        if (pid > 0) await terminateGroup(pid, Math.min(this.config.killGraceMs, 5000), this.platform);
        this.disk.remove(job.spec.jobId, job.spec.attempt);
      }),
    );
    await this.exit(0);
  }

  /**
   * What an earlier agent process left: job processes still running are killed (their output pipe died with
   * it) and reported `lost`, like attempts whose process ended without a recorded end; attempts whose
   * journal holds their `finished` event are replayed, so a job that ended is not run again.
   */
  private async recoverLeftovers(): Promise<void> {
    const spools = new Map(
      (await leftSpools(this.host.spoolDir)).map((s) => [jobKey(s.jobId, s.attempt), s]),
    );
    for (const record of this.disk.leftovers()) {
      const key = jobKey(record.jobId, record.attempt);
      if (survives(record, this.jobUid)) {
        this.log.warn(
          `killing leftover job ${record.jobId} (attempt ${record.attempt}, process group ${record.pgid}) of an earlier agent`,
        );
        killLeftover(record);
        spools.delete(key);
        this.lost.push({ jobId: record.jobId, attempt: record.attempt, pid: record.pid });
      } else if (spools.get(key)?.finished !== true) {
        this.log.warn(
          `job ${record.jobId} (attempt ${record.attempt}) ended with an earlier agent, unreported`,
        );
        spools.delete(key);
        this.lost.push({ jobId: record.jobId, attempt: record.attempt, pid: record.pid });
      }
      this.disk.remove(record.jobId, record.attempt);
    }
    for (const left of spools.values()) {
      if (!left.finished) continue;
      const spool = new Spool(left.jobId, left.attempt, this.host.spoolDir, this.host.outlet);
      spool.adopt(left.lastSeq, left.bytes);
      this.replays.set(jobKey(left.jobId, left.attempt), spool);
      this.log.info(
        `job ${left.jobId} (attempt ${left.attempt}) ended with an earlier agent: replaying its events`,
      );
    }
    // Journals of attempts that are lost or already settled have nothing left to say.
    for (const left of [...spools.values()].filter((s) => !s.finished))
      rmSync(join(this.host.spoolDir, spoolFileName(left.jobId, left.attempt)), { force: true });
    for (const lost of this.lost)
      rmSync(join(this.host.spoolDir, spoolFileName(lost.jobId, lost.attempt)), { force: true });
  }

  private facts(): AgentFacts {
    return {
      hqroot: this.config.sharedNetworkMount ?? this.welcome?.hqroot ?? "",
      arch: clientArch(this.platform, process.arch),
      installDir: this.options.installDir,
      serverUrl:
        this.welcome?.serverUrl ??
        `${this.config.tls ? "https" : "http"}://${this.config.server}:${this.config.serverPort}`,
      jobEnvironment: this.config.jobEnvironment,
    };
  }

  private sayHello(localAddress: string): void {
    const machine = machineFacts();
    const hello: HelloMessage = {
      type: "hello",
      protocol: PROTOCOL_VERSION,
      hostname: hostname(),
      name: this.config.name,
      version: this.options.version,
      platform: platformName(this.platform),
      arch: clientArch(this.platform, process.arch),
      cpus: this.config.cpus,
      cpuSpeed: machine.cpuSpeed,
      memory: machine.memory,
      ip: localAddress !== "" && localAddress !== "127.0.0.1" ? localAddress : primaryIp(),
      clientPort: this.config.port,
      availabilityRules: this.rules,
      running: this.runningJobs(),
      lost: this.lost,
      gpus: this.gpus.devices,
    };
    if (this.config.farmSecret !== null) hello.token = this.config.farmSecret;
    const credential = this.credential.load();
    if (credential !== null) hello.credential = credential;
    const upgradeError = upgradeFailure(this.config.stateDir);
    if (upgradeError !== undefined) hello.upgradeError = upgradeError;
    void this.link.send(hello);
  }

  private onMessage(message: CoordinatorMessage): void {
    if (message.type === "assign") this.assignsHeard++;
    switch (message.type) {
      case "welcome":
        return this.onWelcome(message);
      case "refused": {
        // The same refusal on every retry is said once a minute, not on each (a new coordinator URL used to
        // log it four times before the agent got back in on its own).
        const now = Date.now();
        const last = this.lastRefusal;
        if (last === null || last.reason !== message.reason || now - last.at >= REPEAT_REFUSAL_MS) {
          this.log.error(`the coordinator refused this agent: ${message.reason}`);
          this.lastRefusal = { reason: message.reason, at: now };
        }
        this.link.drop();
        return;
      }
      case "ack": {
        const key = jobKey(message.jobId, message.attempt);
        this.jobs.get(key)?.ack(message.seq);
        const replay = this.replays.get(key);
        replay?.ack(message.seq);
        if (replay?.settled()) {
          replay.discard();
          this.replays.delete(key);
        }
        return;
      }
      case "availability":
        return this.setRules(message.rules);
      default:
        this.state.message(message);
    }
  }

  private onWelcome(welcome: WelcomeMessage): void {
    if (welcome.credential !== undefined) this.credential.save(welcome.credential);
    this.welcome = welcome;
    this.lastRefusal = null;
    // The state to be in (linked from here on); entered once the journals are resent, so that a
    // shutting-down agent with nothing left to run says goodbye after them.
    const from = this.state;
    this.state = from.welcomed();
    this.lost = [];
    this.assignsHeard = 0;
    this.link.welcomed();
    this.log.info(`welcomed as client ${welcome.clientId}`);
    forgetUpgradeFailure(this.config.stateDir);
    for (const stop of welcome.stop ?? []) {
      const job = this.jobs.get(jobKey(stop.jobId, stop.attempt));
      if (job === undefined) continue;
      this.log.info(`the coordinator no longer wants job ${stop.jobId} attempt ${stop.attempt}`);
      job.forget();
      void job.stop("cancelled", false);
    }
    for (const stop of welcome.stop ?? []) {
      const key = jobKey(stop.jobId, stop.attempt);
      this.replays.get(key)?.discard();
      this.replays.delete(key);
    }
    for (const job of this.jobs.values()) void job.spool.resend();
    for (const replay of this.replays.values()) void replay.resend();
    this.heartbeat.start(welcome.heartbeatInterval);
    if (this.state !== from) this.entered(from);
    this.apiCalls.flush();
  }

  private onLinkClosed(): void {
    const was = this.state.linked;
    this.heartbeat.stop();
    if (was) this.log.warn("link to the coordinator lost; reconnecting");
    this.state.linkDown();
  }

  private sendHeartbeat(): void {
    if (!this.state.linked) return;
    const idleTime = this.idle.idleMinutes();
    const sample = this.stats.sample();
    const heartbeat: HeartbeatMessage = {
      type: "heartbeat",
      load: sample.load,
      idleTime,
      freeMemory: sample.freeMemory,
      available: this.shutdown === null && isAvailable(this.rules, new Date(), idleTime),
      running: this.runningJobs(),
      gpus: this.gpus.devices,
      assigns: this.assignsHeard,
    };
    void this.link.send(heartbeat);
  }

  private runningJobs(): RunningJob[] {
    const replays = [...this.replays.values()].map((s) => ({ jobId: s.jobId, attempt: s.attempt, pid: -1 }));
    return [...this.jobs.values()].map((job) => job.running()).concat(replays);
  }

  private setRules(input: unknown): void {
    const { rules, problems } = validRules(input);
    for (const problem of problems) this.log.warn(`availability rule ignored: ${problem}`);
    this.rules = rules;
    mkdirSync(this.config.stateDir, { recursive: true });
    writeFileSync(join(this.config.stateDir, "availability.json"), JSON.stringify(rules));
    this.log.info(`availability rules set: ${JSON.stringify(rules)}`);
    this.heartbeat.now();
  }

  private loadRules(): AvailabilityRule[] {
    try {
      return validRules(JSON.parse(readFileSync(join(this.config.stateDir, "availability.json"), "utf8")))
        .rules;
    } catch {
      return [];
    }
  }
}

/** HQueue's platform names. */
export function platformName(platform: NodeJS.Platform): string {
  return platform === "win32" ? "windows" : platform === "darwin" ? "macosx" : platform;
}

/** HQCLIENTARCH, e.g. "linux-x86_64", "macosx-arm64". */
export function clientArch(platform: NodeJS.Platform, arch: string): string {
  const cpu = arch === "x64" ? "x86_64" : arch === "ia32" ? "x86" : arch;
  return `${platformName(platform)}-${cpu}`;
}
