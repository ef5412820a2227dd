// One agent's WebSocket on this coordinator: hello/welcome, heartbeats, job events (applied through the
// fenced store transitions, then acknowledged), goodbye, and the control messages sent to the agent.

import type { Duplex } from "node:stream";
import type { WebSocket } from "ws";
import {
  PROTOCOL_VERSION,
  type AgentMessage,
  type CoordinatorMessage,
  type HeartbeatMessage,
  type HelloMessage,
  type JobEventMessage,
  type OutputMessage,
} from "../../shared/protocol.js";
import { Refusal } from "../refusal.js";
import { SENT_ASSIGNS_PER_LINK, type Context } from "../context.js";
import {
  clientHoldsJob,
  markTerminated,
  recordHeartbeat,
  registerClient,
  removeIfTerminatedAndIdle,
} from "../store/clients.js";
import type { Scripts } from "../store/dispatch-scripts.js";
import type { EventResult, JobStore } from "../store/jobs.js";
import { jobFields } from "../store/job-fields.js";
import { admit, enroll, helloProblem, withoutCredentials } from "./identity.js";
import { gpusProblem } from "./gpus.js";
import { watchDroppedAgent } from "./crash.js";
import { endLostAttempts, staleAttempts } from "./reconcile.js";
import type { Metrics } from "../metrics.js";
import { agentCallEntry, validAgentCall, type AuditEntry } from "../audit/entry.js";
import { RateBuckets } from "../../shared/rate-buckets.js";

/** What a connection needs from the link that owns it. */
export interface LinkHost {
  readonly ctx: Context;
  readonly metrics: Metrics;
  /** Whether access control is on: agents then require the farm secret on port 5001. */
  readonly clientApiAuth: boolean;
  readonly coordinatorId: string;
  readonly scripts: Scripts;
  readonly store: JobStore;
  adopt(conn: AgentConnection): Promise<void>;
  release(conn: AgentConnection): void;
  jobLeft(clientId: number, jobId: number): void;
  /** Resolves once the writes so far are on the configured replicas (openhq.redis.waitReplicas). */
  durable(): Promise<void>;
  clientChanged(clientId: number): void;
  /**
   * A welcomed agent's heartbeat, recorded at `at`: it answers (a frozen one keeps its link and says nothing).
   * Heartbeats only, as getClients' `responding` reads them: a frame's last output must not keep a blade
   * that froze after it looking alive to dispatch after getClients shows it not responding.
   */
  heartbeat(clientId: number, at: number): void;
  log(line: string): void;
  /** A line caused from outside: rate-limited per source (see store/errors.ts). */
  logFrom(source: string, line: string): void;
  /** Records a call to an agent's port 5001 in the audit log. */
  audit(entry: AuditEntry): void;
}

const HELLO_TIMEOUT_MS = 15_000;
/** Refused agents wait a little before they hear it, so a misconfigured farm does not spin. */
const REFUSE_DELAY_MS = 1000;
/** Port 5001 calls one agent may have recorded a second (a burst of the second figure): its own cut is 5/s. */
const API_CALL_RECORDS = [10, 50] as const;

export class AgentConnection {
  clientId: number | null = null;
  hostname = "";
  platform = "";
  label = "";
  lastSeen = Date.now();
  /** null until the first heartbeat, which always reaches the scheduler: Redis may still hold the previous
   * agent process's "unavailable" (an agent finishing for upgradeClients reports itself unavailable). */
  private available: boolean | null = null;
  /** The GPUs' index, model and memory as last stored: dispatch re-reads the client when they change. */
  private gpuShape = "";
  /**
   * Per job, its events not applied yet, in arrival order: one drain per job applies them in order without
   * blocking other jobs, and takes a run of consecutive output chunks as one store call.
   */
  private readonly pending = new Map<number, JobEventMessage[]>();
  /** Per job, the highest seq acked on this link, so acks only grow (a resend of older events is not re-acked). */
  private readonly acked = new Map<number, { attempt: number; seq: number }>();
  /** A heartbeat is being handled: the next one waits its turn, so lost-job checks never overlap. */
  private beating: Promise<void> = Promise.resolve();
  /** Jobs Redis gives this client that the previous heartbeat did not list: lost if the next one agrees. */
  private suspects = new Map<number, number>();
  private readonly helloTimer: NodeJS.Timeout;
  /** This coordinator closed the link on purpose: no crash probe. */
  private closedHere = false;
  /** The agent said goodbye on this link (a hello clears `terminated` in Redis, so only this link sets it). */
  private saidGoodbye = false;
  private readonly apiCallRecords = new RateBuckets(...API_CALL_RECORDS, 1);
  /**
   * The attempts this link sent an `assign` for (job id -> attempt and the assign's number), until a control message about the job
   * (cancel, eject, pause …) or its `finished`: events of such an attempt come from the client it was given to,
   * so they skip the check in Redis that the client holds the job (one round trip per event). Anything else
   * is checked there as before, and the store's fence refuses an attempt that is no longer the job's. At most
   * openhq.link.sentAssigns of them, in the order sent: past it, the oldest go (their events are checked).
   */
  private readonly sentAssigns = new Map<number, { attempt: number; n: number }>();
  private readonly maxSentAssigns: number;
  /** `assign` messages sent on this link; an assign's `n` in sentAssigns is its number (heartbeat.assigns). */
  private assignsSent = 0;

  constructor(
    readonly ws: WebSocket,
    private readonly host: LinkHost,
    /** The upgraded HTTP socket under `ws` (the link's connection bounds are kept per socket). */
    readonly socket: Duplex,
    readonly remoteAddress: string,
  ) {
    this.maxSentAssigns = host.ctx.settings.sentAssignsPerLink ?? SENT_ASSIGNS_PER_LINK;
    this.helloTimer = setTimeout(() => ws.close(4000, "no hello"), HELLO_TIMEOUT_MS);
    ws.on("message", (data, isBinary) => {
      if (isBinary) return;
      this.lastSeen = Date.now();
      let msg: AgentMessage;
      try {
        msg = JSON.parse(data.toString()) as AgentMessage;
      } catch {
        ws.close(4000, "bad message");
        return;
      }
      if (typeof msg !== "object" || msg === null) {
        ws.close(4000, "bad message");
        return;
      }
      this.handle(msg).catch((err: Error) => this.fail(err));
    });
    ws.on("close", () => {
      clearTimeout(this.helloTimer);
      this.host.release(this);
      // Not when this side closed it on purpose (coordinator stopping, agent connected elsewhere).
      const { clientId, label, remoteAddress } = this;
      if (clientId !== null && !this.closedHere)
        void watchDroppedAgent(this.host, { clientId, label, remoteAddress }).catch((err: Error) =>
          this.fail(err),
        );
    });
    ws.on("error", () => ws.terminate());
  }

  send(msg: CoordinatorMessage): void {
    if (msg.type === "assign") {
      // A job assigned again goes to the young end, so the bound drops the attempts sent longest ago.
      this.sentAssigns.delete(msg.jobId);
      if (this.sentAssigns.size >= this.maxSentAssigns)
        this.sentAssigns.delete(this.sentAssigns.keys().next().value as number);
      this.sentAssigns.set(msg.jobId, { attempt: msg.attempt, n: ++this.assignsSent });
    } else if (msg.type !== "ack" && "jobId" in msg) this.sentAssigns.delete(msg.jobId);
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(msg));
  }

  close(code: number, reason: string): void {
    this.closedHere = true;
    this.ws.close(code, reason);
  }

  private fail(err: Error): void {
    void this.host.ctx.recordError({ message: `agent link ${this.label}: ${err.message}`, time: Date.now() });
  }

  private async handle(msg: AgentMessage): Promise<void> {
    if (msg.type === "hello") return this.hello(msg);
    if (this.clientId === null) {
      this.closeBad(
        "hello first",
        `a message of type ${JSON.stringify(String(msg.type).slice(0, 40))} before its hello`,
      );
      return;
    }
    switch (msg.type) {
      case "heartbeat":
        if (!validHeartbeat(msg)) {
          this.closeBad("bad heartbeat", "a heartbeat with a field out of range or of the wrong type");
          return;
        }
        this.beating = this.beating.then(() => this.heartbeat(msg)).catch((err: Error) => this.fail(err));
        return;
      case "goodbye":
        this.saidGoodbye = true;
        await markTerminated(this.host.ctx, this.clientId);
        this.host.clientChanged(this.clientId);
        await removeIfTerminatedAndIdle(this.host.ctx, this.clientId);
        return;
      case "started":
      case "progress":
      case "output":
      case "finished":
      case "paused":
      case "resumed":
        if (!validEvent(msg)) {
          this.closeBad(
            "bad job event",
            `a ${msg.type} event with a field out of range or of the wrong type`,
          );
          return;
        }
        return this.jobEvent(msg);
      case "clientApiCall":
        if (!validAgentCall(msg)) {
          this.closeBad(
            "bad clientApiCall",
            "a port 5001 call record with a field out of range or of the wrong type",
          );
          return;
        }
        // The agent cuts its own records to a few a second; one that does not is cut here.
        if (this.apiCallRecords.take("")) this.host.audit(agentCallEntry(msg, this.clientId, this.label));
        else
          this.host.logFrom(this.label, `${this.label}: port 5001 calls over the audit bound not recorded`);
        return;
      default:
        return;
    }
  }

  /**
   * Closes the link over a message the protocol does not allow (the agent links again), and says so in the
   * log and the server errors: an agent that keeps linking would otherwise leave no trace of why. Rate-limited
   * per address, as whoever reaches the port can send them.
   */
  private closeBad(reason: string, what: string): void {
    const source = `agent messages from ${this.remoteAddress}`;
    const line = `agent link ${this.label || this.remoteAddress}: closed, ${what}`;
    this.host.logFrom(source, line);
    void this.host.ctx.recordError({ message: line, time: Date.now(), source });
    this.ws.close(4000, reason);
  }

  private async hello(msg: HelloMessage): Promise<void> {
    if (this.clientId !== null) return;
    clearTimeout(this.helloTimer);
    const { ctx } = this.host;
    const who = `${String(msg.hostname).slice(0, 255)}${msg.name ? ":" + String(msg.name).slice(0, 255) : ""} from ${this.remoteAddress}`;
    let enrolled = false;
    let refusal =
      msg.protocol !== PROTOCOL_VERSION
        ? `protocol ${String(msg.protocol)} is not ${PROTOCOL_VERSION}`
        : helloProblem(msg);
    if (refusal === null) {
      const admission = await admit(ctx, msg, this.remoteAddress);
      if (admission.ok) enrolled = admission.enrolled;
      else refusal = admission.reason;
    }
    if (refusal !== null) return this.refuse(who, refusal);
    const now = Date.now();
    const id = await registerClient(ctx, msg, this.host.coordinatorId, now, this.remoteAddress);
    const credential = enrolled ? null : await enroll(ctx, id);
    if (!enrolled && credential === null)
      return this.refuse(who, "enrolled by another coordinator meanwhile");
    this.clientId = id;
    this.hostname = msg.hostname;
    this.platform = msg.platform;
    this.label = msg.name ? `${msg.hostname}:${msg.name}` : msg.hostname;
    this.gpuShape = gpuShape(msg.gpus);
    const stop = await staleAttempts(ctx, id, msg.running ?? []);
    this.send({
      type: "welcome",
      clientId: id,
      heartbeatInterval: ctx.settings.heartbeatIntervalMs,
      hqroot: ctx.settings.sharedNetworkMount[msg.platform] ?? "",
      serverUrl: withoutCredentials(ctx.settings.serverUrl),
      stop,
      clientApiAuth: this.host.clientApiAuth,
      ...(credential === null ? {} : { credential }),
    });
    await this.host.adopt(this);
    await endLostAttempts(this.host, id, this.label, msg.lost ?? []);
  }

  private refuse(who: string, refusal: string): void {
    const { ctx } = this.host;
    // Whoever reaches the port can make hellos be refused: their log lines and records are rate-limited.
    const source = `agent hellos from ${this.remoteAddress}`;
    this.host.logFrom(source, `refused agent ${who}: ${refusal}`);
    void ctx.recordError({ message: `refused agent ${who}: ${refusal}`, time: Date.now(), source });
    setTimeout(() => {
      this.send({ type: "refused", reason: refusal });
      this.ws.close(4003, "refused");
    }, REFUSE_DELAY_MS).unref();
  }

  private async heartbeat(msg: HeartbeatMessage): Promise<void> {
    const id = this.clientId as number;
    const { ctx } = this.host;
    const at = Date.now();
    const jobs = await recordHeartbeat(ctx, id, msg, this.host.coordinatorId, at);
    if (jobs === null) {
      // After its goodbye the record may be gone on purpose (removeIfTerminatedAndIdle); else it was lost.
      if (this.saidGoodbye) return;
      this.host.log(`${this.label}: client ${id} lost its record in Redis: link closed for a new hello`);
      this.close(4012, "client record lost: say hello again");
      return;
    }
    this.host.heartbeat(id, at);
    const shape = msg.gpus === undefined ? this.gpuShape : gpuShape(msg.gpus);
    if (msg.available !== this.available || shape !== this.gpuShape) {
      this.available = msg.available;
      this.gpuShape = shape;
      this.host.clientChanged(id);
    }
    await this.findLostJobs(msg, jobs);
  }

  /**
   * A job Redis gives this client that two heartbeats in a row do not list, that was assigned more than two
   * heartbeat intervals ago (so `assign` and the heartbeat cannot have crossed) and is not in the middle of
   * reporting events, never reached the agent (the coordinator died before sending it, or the agent lost
   * it): back to the queue. Redis's startTime is the assignment time, so this survives coordinator restarts.
   * The time alone is not enough on a loaded farm: a coordinator that reads heartbeats seconds late would
   * requeue a job its agent had simply not heard of yet when it wrote them, and the job would run twice. So
   * a job assigned on this link counts as missing only from a heartbeat written after the agent had
   * received its `assign` (heartbeat.assigns); an agent that does not say goes by the time alone.
   * `jobs` are the client's jobs in Redis, read by recordHeartbeat in the same call.
   */
  private async findLostJobs(msg: HeartbeatMessage, jobs: number[]): Promise<void> {
    const id = this.clientId as number;
    const { ctx } = this.host;
    const listed = new Set((msg.running ?? []).map((r) => r.jobId));
    const old = Date.now() - 2 * ctx.settings.heartbeatIntervalMs;
    const missing = jobs.filter((jobId) => !listed.has(jobId) && !this.pending.has(jobId));
    const next = new Map<number, number>();
    for (const jobId of missing) {
      const [attempt, startTime] = (await jobFields(ctx, jobId, ["attempt", "startTime"])).map(Number);
      if (!(Number(startTime) < old)) continue;
      const sent = this.sentAssigns.get(jobId);
      if (msg.assigns !== undefined && sent !== undefined && sent.attempt === attempt && sent.n > msg.assigns)
        continue;
      if (this.suspects.get(jobId) !== attempt) {
        next.set(jobId, attempt as number);
        continue;
      }
      if ((await this.host.scripts.run("requeueLost", jobId, attempt as number, id)) === 1) {
        this.host.log(`job ${jobId} attempt ${attempt} never reached ${this.label}: requeued`);
        this.host.jobLeft(id, jobId);
      }
    }
    this.suspects = next;
  }

  private jobEvent(msg: JobEventMessage): Promise<void> {
    const queue = this.pending.get(msg.jobId);
    if (queue !== undefined) queue.push(msg);
    else {
      this.pending.set(msg.jobId, [msg]);
      void this.drain(msg.jobId);
    }
    return Promise.resolve();
  }

  /**
   * Applies a job's pending events until none are left; events arriving meanwhile join the queue. A failed
   * apply (Redis refusing writes, a failover) stays at the head of the queue and is tried again with
   * backoff: nothing behind it is applied or acked before it, so a gap never reaches the fence and the agent
   * keeps every event the store does not hold. Once the link is closed the drain gives up; the agent
   * resends everything unacked when it reconnects.
   */
  private async drain(jobId: number): Promise<void> {
    const queue = this.pending.get(jobId) as JobEventMessage[];
    let delay = RETRY_MIN_MS;
    while (queue.length > 0) {
      const batch = takeBatch(queue);
      try {
        if (!(await this.apply(batch))) break;
        delay = RETRY_MIN_MS;
      } catch (err) {
        if (delay === RETRY_MIN_MS) this.fail(err as Error);
        if (this.ws.readyState !== this.ws.OPEN) break;
        queue.unshift(...batch);
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, RETRY_MAX_MS);
      }
    }
    this.pending.delete(jobId);
  }

  /**
   * Applies one event, or a run of output chunks, then acks its last seq (acks are cumulative). False when
   * an earlier event is missing (the fence's 'gap'): nothing is acked and the link is closed, so the agent
   * resends everything from its last ack on its next link.
   */
  private async apply(batch: JobEventMessage[]): Promise<boolean> {
    const first = batch[0] as JobEventMessage;
    const last = batch[batch.length - 1] as JobEventMessage;
    // Only a client the job is assigned to may report on it: another agent's events (a rogue, or a stale
    // one) are dropped unapplied, and acked so an honest agent stops resending them.
    const sent = this.sentAssigns.get(first.jobId)?.attempt === first.attempt;
    if (!sent && !(await this.holds(first.jobId))) {
      this.ack(last);
      return true;
    }
    try {
      if ((await this.applyToStore(batch)) === "gap") {
        if (this.acked.get(first.jobId)?.attempt === first.attempt) {
          this.host.log(
            `${this.label}: job ${first.jobId} attempt ${first.attempt} event ${first.seq} came after a gap: link closed for a resend`,
          );
          this.close(4009, "event gap: resend from the last ack");
          return false;
        }
        // The first event of this attempt on this link starts the agent's resend at its last ack + 1: a gap
        // before it means the store lost events it had acked (a Redis restart or failover without
        // waitReplicas). No resend can fill it; letting the events through keeps the job going.
        this.fail(
          new Error(
            `job ${first.jobId} attempt ${first.attempt}: Redis lost acked events before seq ${first.seq}; the output has a hole there`,
          ),
        );
        await this.host.store.skipGap(first.jobId, first.attempt, first.seq);
        if ((await this.applyToStore(batch)) === "gap")
          throw new Error(`job ${first.jobId}: event gap again`);
      }
    } catch (err) {
      // A job deleted meanwhile: nothing to apply, but the agent must stop resending it. Other store
      // refusals (bad arguments) are as final; only a failed write (Redis down, refusing) is tried again.
      if (!(err instanceof Refusal)) throw err;
      if (err.kind !== "notFound") this.fail(err);
    }
    await this.host.durable();
    this.ack(last);
    return true;
  }

  private async holds(jobId: number): Promise<boolean> {
    const { ctx } = this.host;
    return clientHoldsJob(ctx, this.clientId as number, jobId);
  }

  private ack({ type, jobId, attempt, seq }: JobEventMessage): void {
    const before = this.acked.get(jobId);
    if (before?.attempt === attempt && before.seq >= seq) return;
    if (type === "finished") this.acked.delete(jobId);
    else this.acked.set(jobId, { attempt, seq });
    this.send({ type: "ack", jobId, attempt, seq });
  }

  private async applyToStore(batch: JobEventMessage[]): Promise<EventResult> {
    const { store, ctx } = this.host;
    const id = this.clientId as number;
    const msg = batch[0] as JobEventMessage;
    const { jobId, attempt, seq } = msg;
    switch (msg.type) {
      case "started":
        return store.recordStarted(jobId, attempt, seq, id);
      case "progress":
        return store.updateProgress(jobId, attempt, seq, msg.progress);
      case "output":
        return store.appendOutputs(jobId, attempt, seq, (batch as OutputMessage[]).map(outputData));
      case "paused": {
        const result = await store.confirmPaused(jobId, attempt, seq);
        if (result === "ok") this.host.metrics.runPaused(jobId);
        return result;
      }
      case "resumed": {
        const result = await store.confirmResumed(jobId, attempt, seq);
        if (result === "ok") this.host.metrics.runResumed(jobId);
        return result;
      }
      case "finished": {
        const result = await store.moveToFinished(jobId, attempt, seq, msg);
        if (result === "gap") return result;
        if (result === "ok") this.host.metrics.runFinished(msg);
        // Whatever else the store said (stale, duplicate), the job no longer runs on this agent.
        this.sentAssigns.delete(jobId);
        this.host.jobLeft(id, jobId);
        if (this.saidGoodbye) await removeIfTerminatedAndIdle(ctx, id);
        return result;
      }
    }
  }
}

/** Backoff between tries of an apply that failed: short first, so a blip costs little. */
const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 2000;

/** Output bytes per store call at most: one Lua call holds Redis while it appends them. */
const MAX_BATCH_BYTES = 4 * 1024 * 1024;

/**
 * Takes the next event off the queue, with the output chunks that directly follow an output chunk (same
 * attempt, next seqs) up to MAX_BATCH_BYTES, so a chatty job costs one round trip per batch, not per chunk.
 */
function takeBatch(queue: JobEventMessage[]): JobEventMessage[] {
  const first = queue.shift() as JobEventMessage;
  if (first.type !== "output") return [first];
  const batch: OutputMessage[] = [first];
  let bytes = first.data.length;
  for (;;) {
    const next = queue[0];
    const prev = batch[batch.length - 1] as OutputMessage;
    if (next?.type !== "output" || next.attempt !== prev.attempt || next.seq !== prev.seq + 1) break;
    if (bytes + next.data.length > MAX_BATCH_BYTES) break;
    bytes += next.data.length;
    batch.push(queue.shift() as OutputMessage);
  }
  return batch;
}

function outputData(msg: OutputMessage): Buffer | string {
  return msg.encoding === "base64" ? Buffer.from(msg.data, "base64") : msg.data;
}

/** Ids and seqs are positive safe integers; output data is a string. Anything else ends the link. */
function validEvent(msg: JobEventMessage): boolean {
  const ok = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  if (!ok(msg.jobId) || !ok(msg.attempt) || !ok(msg.seq)) return false;
  return msg.type !== "output" || typeof msg.data === "string";
}

/** What booking depends on in a GPU list (free memory changes every beat and does not count). */
function gpuShape(gpus: HelloMessage["gpus"]): string {
  return (gpus ?? []).map((d) => `${d.index}:${d.memory}:${d.model}`).join("\n");
}

/**
 * A heartbeat's numbers are finite, `available` a boolean, `assigns` (when sent) a safe integer >= 0, `running`
 * a bounded list of job ids/attempts. Anything else ends the link.
 */
function validHeartbeat(msg: HeartbeatMessage): boolean {
  const finite = (n: unknown) => typeof n === "number" && Number.isFinite(n);
  if (!finite(msg.load) || !finite(msg.idleTime) || !finite(msg.freeMemory)) return false;
  if (typeof msg.available !== "boolean") return false;
  if (gpusProblem(msg.gpus) !== null) return false;
  if (msg.assigns !== undefined && !(Number.isSafeInteger(msg.assigns) && msg.assigns >= 0)) return false;
  if (msg.running === undefined) return true;
  return (
    Array.isArray(msg.running) &&
    msg.running.length <= 10_000 &&
    msg.running.every(
      (r) =>
        typeof r === "object" &&
        r !== null &&
        Number.isSafeInteger(r.jobId) &&
        Number.isSafeInteger(r.attempt),
    )
  );
}
