// A small agent-protocol peer for scheduler/link tests: a real WebSocket client speaking shared/protocol.ts
// to a real coordinator. It registers, heartbeats, and answers `assign` the way its behaviour says (finish
// at once, or hold the job until the test finishes it), recording every message it gets.

import WebSocket from "ws";
import type {
  AgentMessage,
  AssignMessage,
  CoordinatorMessage,
  HelloMessage,
  WelcomeMessage,
} from "../../shared/protocol.js";
import { AGENT_PATH, PROTOCOL_VERSION } from "../../shared/protocol.js";
import { TEST_FARM_SECRET } from "./farm-secret.js";

/** Client credentials from `welcome`, per coordinator and client name: a new peer of a name reconnects as it. */
const credentials = new Map<string, string>();

export interface PeerOptions {
  serverUrl: string;
  hostname?: string;
  name?: string;
  cpus?: number;
  platform?: string;
  /** The farm secret; default TEST_FARM_SECRET. Pass null to send none. */
  token?: string | null;
  /** Override the remembered client credential (null = send none). */
  credential?: string | null;
  /** "finish": report started + finished(exit 0) at once; "hold": keep jobs until finish() is called. */
  mode?: "finish" | "hold";
  heartbeatMs?: number;
  running?: HelloMessage["running"];
  available?: boolean;
  /** The local address the link comes from (any 127.x.y.z works on Linux): another machine. */
  localAddress?: string;
  /** GPUs claimed in hello (sent as given: tests send malformed lists too). */
  gpus?: unknown;
}

export class ProtocolPeer {
  readonly received: CoordinatorMessage[] = [];
  readonly running = new Map<number, AssignMessage>();
  welcome: WelcomeMessage | null = null;
  refused: string | null = null;
  /** The WebSocket close code once the link is closed (by either side). */
  closeCode: number | null = null;
  available: boolean;
  /** `assign` messages heard on this link (heartbeat.assigns, as the agent reports it). */
  assignsHeard = 0;
  /** While set, an `assign` is recorded in `received` only: as if still on its way when heartbeats are written. */
  deaf = false;
  private ws!: WebSocket;
  private timer: NodeJS.Timeout | null = null;
  private seqs = new Map<string, number>();
  private waiters: (() => void)[] = [];

  constructor(readonly opts: PeerOptions) {
    this.available = opts.available ?? true;
  }

  private get credentialKey(): string {
    return `${this.opts.serverUrl}|${this.opts.hostname ?? "peerhost"}:${this.opts.name ?? ""}`;
  }

  get clientId(): number {
    if (!this.welcome) throw new Error("not welcomed");
    return this.welcome.clientId;
  }

  async connect(): Promise<this> {
    const url = this.opts.serverUrl.replace(/^http/, "ws") + AGENT_PATH;
    this.ws = new WebSocket(url, {
      perMessageDeflate: false,
      ...(this.opts.localAddress === undefined ? {} : { localAddress: this.opts.localAddress }),
    });
    await new Promise<void>((resolve, reject) => {
      this.ws.once("open", () => resolve());
      this.ws.once("error", reject);
    });
    this.ws.on("message", (data) => this.onMessage(JSON.parse(data.toString()) as CoordinatorMessage));
    this.ws.on("close", (code) => {
      this.closeCode = code;
      this.stopHeartbeats();
      for (const w of this.waiters.splice(0)) w();
    });
    const token = this.opts.token === undefined ? TEST_FARM_SECRET : this.opts.token;
    const credential =
      this.opts.credential === undefined ? credentials.get(this.credentialKey) : this.opts.credential;
    this.send({
      type: "hello",
      protocol: PROTOCOL_VERSION,
      hostname: this.opts.hostname ?? "peerhost",
      name: this.opts.name ?? "",
      version: "test",
      platform: this.opts.platform ?? "linux",
      arch: `${this.opts.platform ?? "linux"}-x86_64`,
      cpus: this.opts.cpus ?? 1,
      cpuSpeed: 3000,
      memory: 1024 * 1024,
      ip: "127.0.0.1",
      clientPort: 5001,
      ...(token === null ? {} : { token }),
      ...(credential === null || credential === undefined ? {} : { credential }),
      availabilityRules: [],
      running: this.opts.running ?? [],
      ...(this.opts.gpus === undefined ? {} : { gpus: this.opts.gpus as HelloMessage["gpus"] }),
    });
    await this.waitFor(() => this.welcome !== null || this.refused !== null);
    if (this.welcome) {
      this.timer = setInterval(() => this.heartbeat(), this.opts.heartbeatMs ?? 200);
    }
    return this;
  }

  send(msg: AgentMessage): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  heartbeat(): void {
    this.send({
      type: "heartbeat",
      load: 0.5,
      idleTime: -1,
      freeMemory: 512 * 1024,
      available: this.available,
      running: [...this.running.values()].map((a) => ({ jobId: a.jobId, attempt: a.attempt, pid: 1 })),
      assigns: this.assignsHeard,
    });
  }

  private nextSeq(jobId: number, attempt: number): number {
    const k = `${jobId}:${attempt}`;
    const seq = (this.seqs.get(k) ?? 0) + 1;
    this.seqs.set(k, seq);
    return seq;
  }

  output(jobId: number, data: string): void {
    const a = this.running.get(jobId);
    if (!a) throw new Error(`job ${jobId} not running here`);
    this.send({ type: "output", jobId, attempt: a.attempt, seq: this.nextSeq(jobId, a.attempt), data });
  }

  progress(jobId: number, progress: number): void {
    const a = this.running.get(jobId);
    if (!a) throw new Error(`job ${jobId} not running here`);
    this.send({ type: "progress", jobId, attempt: a.attempt, seq: this.nextSeq(jobId, a.attempt), progress });
  }

  finish(jobId: number, exitCode = 0): void {
    const a = this.running.get(jobId);
    if (!a) throw new Error(`job ${jobId} not running here`);
    this.running.delete(jobId);
    this.send({
      type: "finished",
      jobId,
      attempt: a.attempt,
      seq: this.nextSeq(jobId, a.attempt),
      exitCode,
      signal: null,
      reason: "exited",
    });
  }

  private onMessage(msg: CoordinatorMessage): void {
    this.received.push(msg);
    if (msg.type === "welcome") {
      this.welcome = msg;
      if (msg.credential !== undefined) credentials.set(this.credentialKey, msg.credential);
    } else if (msg.type === "refused") this.refused = msg.reason;
    else if (msg.type === "assign") {
      if (this.deaf) return;
      this.assignsHeard++;
      this.running.set(msg.jobId, msg);
      this.send({
        type: "started",
        jobId: msg.jobId,
        attempt: msg.attempt,
        seq: this.nextSeq(msg.jobId, msg.attempt),
        pid: 1,
      });
      if ((this.opts.mode ?? "finish") === "finish") this.finish(msg.jobId);
    } else if (msg.type === "cancel" || msg.type === "eject") {
      const a = this.running.get(msg.jobId);
      if (a && a.attempt === msg.attempt) {
        this.running.delete(msg.jobId);
        this.send({
          type: "finished",
          jobId: msg.jobId,
          attempt: msg.attempt,
          seq: this.nextSeq(msg.jobId, msg.attempt),
          exitCode: null,
          signal: "SIGTERM",
          reason: "cancelled",
        });
      }
    } else if (msg.type === "pause" || msg.type === "resume") {
      this.send({
        type: msg.type === "pause" ? "paused" : "resumed",
        jobId: msg.jobId,
        attempt: msg.attempt,
        seq: this.nextSeq(msg.jobId, msg.attempt),
      });
    }
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves when `cond` holds (checked after each message), or rejects after `timeoutMs`. */
  waitFor(cond: () => boolean, timeoutMs = 20_000): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("ProtocolPeer.waitFor timed out")), timeoutMs);
      const check = () => {
        if (cond()) {
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(check);
      };
      this.waiters.push(check);
    });
  }

  private stopHeartbeats(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Closes the link (as an agent crash would, from the coordinator's point of view). */
  close(): void {
    this.stopHeartbeats();
    this.ws.terminate();
  }
}
