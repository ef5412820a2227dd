// The agent link of one coordinator process: accepts agents on the /agent WebSocket, tells the scheduler's
// dispatcher (coordinator/scheduler/index.ts) about the agents connected here, forwards control messages
// published on `{p}control:{clientId}` (from whichever coordinator served the API call) to the agent, and
// sweeps for silent clients. Several coordinators on one Redis each run all of this; every decision that
// could race is a fenced Lua transition.

import type { IncomingMessage, Server } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { ConnectionGate } from "../../shared/connection-gate.js";
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { WebSocketServer } from "ws";
import { oneLine } from "../../shared/log-line.js";
import { AGENT_PATH, type CoordinatorMessage } from "../../shared/protocol.js";
import type { Context } from "../context.js";
import { jobsAndLabels, markDisconnected, sendControl, silentClients } from "../store/clients.js";
import { SourceLimiter } from "../store/errors.js";
import { ControlSubscription } from "../store/events.js";
import { jobFields, jobHash } from "../store/job-fields.js";
import { assignedClients, assignMessage } from "../scheduler/assign.js";
import type { JobRecord } from "../store/jobs.js";
import type { Dispatcher } from "../scheduler/dispatch.js";
import { Scripts } from "../store/dispatch-scripts.js";
import { JobStore } from "../store/jobs.js";
import { ReplicaWait } from "../store/replica-wait.js";
import { AgentConnection, type LinkHost } from "./connection.js";
import { bladeLost } from "./blade-lost.js";
import type { Metrics } from "../metrics.js";
import type { Services } from "../services.js";
import type { AuditEntry } from "../audit/entry.js";

/** How often this coordinator stamps the farm as watched; a gap of ALIVE_GAP_MS means nobody was. */
const ALIVE_MS = 1000;
const ALIVE_GAP_MS = 2000;

export interface PreHelloLimits {
  maxPendingAgents: number;
  maxHelloBytes: number;
  /** Port 5000's connection caps: a welcomed agent's socket is released from its address's count. */
  gate: ConnectionGate;
}

type ControlMessage =
  | CoordinatorMessage
  | { type: "assign"; jobId: number; attempt: number }
  | { type: "refresh" }
  | { type: "takeover"; by: string }
  | { type: "revoked" };

export class Link implements LinkHost {
  readonly coordinatorId = `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
  readonly scripts: Scripts;
  readonly store: JobStore;
  private readonly agents = new Map<number, AgentConnection>();
  private readonly wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: 64 << 20,
  });
  private readonly sub: ControlSubscription;
  private readonly logLimiter = new SourceLimiter();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly replicas: ReplicaWait;
  /** Liveness sweeps wait for the first stamp, which forgives silence while no coordinator was listening. */
  private stamped = false;
  private closed = false;

  /** Per /agent socket not welcomed yet: ends its pre-hello bounds once it is (or once it closes). */
  private readonly preHello = new Map<Duplex, () => void>();

  readonly ctx: Context;
  readonly metrics: Metrics;
  readonly clientApiAuth: boolean;

  constructor(
    services: Services,
    server: Server,
    readonly dispatcher: Dispatcher,
    private readonly limits: PreHelloLimits,
    /** Records a call to an agent's port 5001 in the audit log (coordinator/audit). */
    readonly audit: (entry: AuditEntry) => void,
  ) {
    const { ctx } = services;
    this.ctx = ctx;
    this.metrics = services.metrics;
    this.clientApiAuth = services.auth.enabled;
    this.scripts = new Scripts(ctx);
    this.store = new JobStore(ctx);
    this.replicas = new ReplicaWait(ctx);
    this.sub = new ControlSubscription(ctx, (clientId, message) => this.onMessage(clientId, message));
    server.on("upgrade", this.onUpgrade);
    const livenessMs = Math.min(5000, Math.max(250, this.silenceLimitMs() / 4));
    this.every(ALIVE_MS, () => this.stampAlive());
    this.every(livenessMs, () => this.sweepLiveness());
    void this.stampAlive().catch(() => {});
  }

  private every(ms: number, fn: () => Promise<void>): void {
    let busy = false;
    const timer = setInterval(() => {
      if (busy || this.closed) return;
      busy = true;
      fn()
        .catch(
          (err: Error) =>
            void this.ctx.recordError({ message: `agent link: ${err.message}`, time: Date.now() }),
        )
        .finally(() => (busy = false));
    }, ms);
    timer.unref();
    this.timers.push(timer);
  }

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    // Another listener (the dashboard) owns other paths; server.ts's guard destroyed what it refused.
    if (path !== AGENT_PATH || socket.destroyed) return;
    if (this.preHello.size >= this.limits.maxPendingAgents) {
      socket.end("HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
      socket.destroy();
      return;
    }
    // Until its hello is welcomed, a socket may send maxHelloBytes in all (counted as they arrive, before
    // the WebSocket layer buffers a frame), so nobody without the farm secret makes the coordinator hold
    // more than that per socket.
    let received = head.length;
    const count = (chunk: Buffer) => {
      received += chunk.length;
      if (received > this.limits.maxHelloBytes) socket.destroy();
    };
    const welcomed = () => {
      socket.off("data", count);
      socket.off("close", welcomed);
      this.preHello.delete(socket);
    };
    this.preHello.set(socket, welcomed);
    socket.on("data", count);
    socket.once("close", welcomed);
    if (received > this.limits.maxHelloBytes) return void socket.destroy();
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      new AgentConnection(ws, this, socket, req.socket.remoteAddress ?? "");
    });
  };

  log(line: string): void {
    process.stderr.write(`${new Date().toISOString()} ${oneLine(line)}\n`);
  }

  logFrom(source: string, line: string): void {
    const dropped = this.logLimiter.admit(source);
    if (dropped === null) return;
    this.log(dropped > 0 ? `${line} (and ${dropped} more like it from ${source}, not logged)` : line);
  }

  async adopt(conn: AgentConnection): Promise<void> {
    const id = conn.clientId as number;
    // Welcomed: the pre-hello bounds end, and the socket no longer counts against its address (agents
    // behind one NAT address may be many).
    this.preHello.get(conn.socket)?.();
    this.limits.gate.release(conn.socket as Socket);
    const old = this.agents.get(id);
    this.agents.set(id, conn);
    if (old && old !== conn) old.close(4002, "replaced by a newer connection");
    // A half-open link to this agent on another coordinator must not take work for it any longer.
    await sendControl(this.ctx, id, { type: "takeover", by: this.coordinatorId });
    await this.sub.add(id);
    await this.dispatcher.addClient(id);
    // The link may have closed while this awaited: release() ran before addClient, so undo it here.
    if (!this.agents.has(id)) this.dispatcher.removeClient(id);
    this.log(`agent ${conn.label} connected as client ${id}`);
  }

  release(conn: AgentConnection): void {
    const id = conn.clientId;
    if (id === null || this.agents.get(id) !== conn) return;
    this.agents.delete(id);
    this.dispatcher.removeClient(id);
    if (this.closed) return;
    void this.sub.remove(id).catch(() => {});
    void markDisconnected(this.ctx, id, this.coordinatorId, Date.now()).catch(() => {});
    this.log(`agent ${conn.label} (client ${id}) disconnected`);
  }

  jobLeft(clientId: number, jobId: number): void {
    this.dispatcher.jobLeft(clientId, jobId);
  }

  heartbeat(clientId: number, at: number): void {
    this.dispatcher.heartbeat(clientId, at);
  }

  clientChanged(clientId: number): void {
    void this.dispatcher.refreshClient(clientId);
  }

  durable(): Promise<void> {
    return this.replicas.sync();
  }

  /**
   * Sends a dispatched job's `assign` (the scheduler's deliver hook). With openhq.redis.waitReplicas, an
   * assignment leaves only once the replicas hold it.
   */
  deliver(job: JobRecord): void {
    this.metrics.jobDispatched(job);
    if (!this.replicas.enabled) return this.deliverNow(job);
    void this.replicas
      .confirmed()
      .then(async (ok) => {
        // Meanwhile the attempt may have been requeued as lost: an old one must not run beside the next.
        const [status, attempt] = await jobFields(this.ctx, job.id ?? "", ["status", "attempt"]);
        if (ok && status === "running" && attempt === job.attempt) this.deliverNow(job);
      })
      .catch((err: Error) => this.log(`assignment of job ${job.id}: ${err.message}`));
  }

  /** Sends `assign` to each client of a job: directly when connected here, else through its control channel. */
  private deliverNow(job: JobRecord): void {
    for (const c of assignedClients(job)) {
      const conn = this.agents.get(c.clientId);
      if (conn) this.sendAssign(conn, job);
      else
        void sendControl(this.ctx, c.clientId, {
          type: "assign",
          jobId: Number(job.id),
          attempt: Number(job.attempt),
        });
    }
  }

  private sendAssign(conn: AgentConnection, job: JobRecord): void {
    const msg = assignMessage(job, conn.clientId as number, conn.platform, this.ctx.settings.stallTimeout);
    if (!msg) return;
    conn.send(msg);
  }

  private onMessage(clientId: number, message: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(message);
    } catch {
      return;
    }
    const conn = this.agents.get(clientId);
    if (conn) void this.control(conn, msg as ControlMessage);
  }

  private async control(conn: AgentConnection, msg: ControlMessage): Promise<void> {
    if (msg.type === "takeover") {
      if (msg.by !== this.coordinatorId) conn.close(4002, "the agent connected to another coordinator");
      return;
    }
    if (msg.type === "revoked") {
      conn.close(4003, "client revoked");
      return;
    }
    if (msg.type === "refresh") {
      await this.dispatcher.refreshClient(conn.clientId as number);
      return;
    }
    if (msg.type === "assign" && !("command" in msg)) {
      const job = await jobHash(this.ctx, msg.jobId);
      if (Number(job.attempt) === msg.attempt && job.status === "running") this.sendAssign(conn, job);
      return;
    }
    conn.send(msg as CoordinatorMessage);
  }

  private async stampAlive(): Promise<void> {
    const refreshed = await this.scripts.farmAlive(ALIVE_GAP_MS);
    if (refreshed > 0)
      this.log(`no coordinator was watching the farm: ${refreshed} clients get a fresh activeTimeout`);
    this.stamped = true;
  }

  /**
   * Clients silent for activeTimeout lose their jobs as lost (blade-lost.ts), and so do clients whose link
   * stays up without heartbeats past openhq.frozenTimeout when it is set. Reads the stale end of the
   * last-heartbeat sorted set, never every client.
   */
  private async sweepLiveness(): Promise<void> {
    if (!this.stamped) return;
    const timeoutMs = this.silenceLimitMs();
    if (timeoutMs <= 0) return;
    const now = Date.now();
    for (const conn of this.agents.values())
      if (now - conn.lastSeen > timeoutMs) conn.close(4008, "silent for activeTimeout");
    const stale = await silentClients(this.ctx, now - timeoutMs);
    if (stale.length === 0) return;
    const why = `not responding (no heartbeat for ${Math.round(timeoutMs / 1000)} s)`;
    for (const [i, client] of (await jobsAndLabels(this.ctx, stale)).entries()) {
      if (client.jobs.length === 0) continue;
      const clientId = Number(stale[i]);
      await bladeLost(this, { clientId, label: client.label ?? `client ${clientId}` }, why);
    }
  }

  /** How long a client may stay silent before its jobs are lost: activeTimeout, or openhq.frozenTimeout. */
  private silenceLimitMs(): number {
    const { activeTimeoutMinutes, frozenTimeoutSeconds } = this.ctx.settings;
    const limits = [activeTimeoutMinutes * 60_000, frozenTimeoutSeconds * 1000].filter((ms) => ms > 0);
    return limits.length === 0 ? 0 : Math.min(...limits);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.replicas.close();
    for (const t of this.timers) clearInterval(t);
    // The links end with this process: their clients read "disconnected since" from now on, not "connected"
    // until each agent finds a coordinator again (for good, when the farm moved to another address).
    const now = Date.now();
    await Promise.all(
      [...this.agents.keys()].map((id) =>
        markDisconnected(this.ctx, id, this.coordinatorId, now).catch(() => {}),
      ),
    );
    for (const conn of this.agents.values()) conn.close(1001, "coordinator stopping");
    this.wss.close();
    this.sub.close();
  }
}
