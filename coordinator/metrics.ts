// GET /metrics in the Prometheus text exposition format (version 0.0.4). Counters and histograms count THIS
// process's own work (the jobs its dispatcher assigned, the runs that ended on agents linked to it, its API
// calls), so a sum over N coordinators is the farm's total. Gauges (jobs by status, clients by state, CPU
// slots, heartbeat lag, Redis round trip) are read from Redis at scrape time: every coordinator reports the
// same farm-wide value (aggregate them with max, not sum).
//
//   openhq_up                                   1
//   openhq_build_info{version,node}             1
//   openhq_jobs{status}                         jobs per internal status (ZCARD of the status sets)
//   openhq_jobs_dispatched_total                jobs this coordinator assigned to clients
//   openhq_queue_wait_seconds (histogram)       their wait since submission (or since their last requeue)
//   openhq_jobs_finished_total{outcome}         runs that ended on this coordinator's agents: succeeded |
//                                               failed | killed | cancelled | timeout | stalled | spawn_error
//   openhq_job_run_seconds (histogram)          those runs' running time (from this coordinator's dispatch;
//                                               paused time, from the pause/resume its agents confirmed, left out)
//   openhq_clients{state}                       busy | idle | unavailable | disabled | not_responding | quarantined
//                                               (shared/client-state.ts: the dashboard's and CLI's states)
//   openhq_cpu_slots{state}                     busy | total: CPUs of clients that can take work, and held
//   openhq_share_running_slots{share}           CPU slots each share's running jobs hold (docs/ADMIN.md "Shares")
//   openhq_share_guarantee_slots{share}         its guaranteed slots, and openhq_share_burst_slots{share} its
//                                               burst maximum in slots (only shares with one)
//   openhq_client_heartbeat_lag_seconds{client} seconds since each client's last heartbeat
//   openhq_redis_roundtrip_seconds              one PING, timed at scrape
//   openhq_api_calls_total{method,outcome}      XML-RPC calls, outcome ok | fault | error (internal)
//   openhq_api_call_duration_seconds{method}    (histogram) XML-RPC call latency
//   openhq_notices_total{kind,outcome}          notices this coordinator sent: kind mail | digest | webhook,
//                                               outcome sent | retry (failed, tried again) | failed (given up)
//   openhq_webhook_deliveries_total{hook,outcome} the same per webhook (the alert of a hook failing an hour)
//   openhq_notices_pending / _dropped_total     the outbox's notices (farm-wide) and those dropped when full
//   process_* / nodejs_*                        CPU seconds, resident memory, start time, heap, event-loop lag

import { monitorEventLoopDelay } from "node:perf_hooks";
import type { FinishedMessage } from "../shared/protocol.js";
import { JOB_STATUSES } from "../shared/statuses.js";
import type { CallOutcome } from "../shared/xmlrpc/server.js";
import type { Context } from "./context.js";
import { jobCountsByStatus, redisRoundTrip } from "./store/farm-stats.js";
import { VERSION } from "../shared/version.js";
import { readUtilisation } from "./web/utilisation.js";
import { shareRows } from "./store/shares.js";
import { allClientIds } from "./store/clients.js";
import { Outbox } from "./notices/outbox.js";
import { clientLabelsById, scanColumn } from "./store/client-list.js";

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const WAIT_BUCKETS = [0.01, 0.1, 1, 5, 15, 60, 300, 900, 3600, 14400, 86400];
const RUN_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400];
const OUTCOMES = ["succeeded", "failed", "killed", "cancelled", "timeout", "stalled", "spawn_error"] as const;
type Outcome = (typeof OUTCOMES)[number];
/** A scrape waits this long for Redis before reporting openhq_redis_up 0. */
const FARM_TIMEOUT_MS = 3000;
/** Dispatch times kept for the run-time histogram; a bound, in case finishes are missed (agent lost). */
const MAX_TRACKED = 100_000;
/** Dispatch times kept to tell how busy dispatch is (Metrics.msSinceDispatches). */
const DISPATCH_RING = 100;

class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(readonly buckets: number[]) {
    this.counts = buckets.map(() => 0);
  }
  observe(value: number): void {
    this.sum += value;
    this.count++;
    this.buckets.forEach((le, i) => {
      if (value <= le) this.counts[i] = (this.counts[i] ?? 0) + 1;
    });
  }
  lines(name: string, labels: string): string[] {
    const sep = labels === "" ? "" : ",";
    return [
      ...this.buckets.map((le, i) => `${name}_bucket{${labels}${sep}le="${le}"} ${this.counts[i]}`),
      `${name}_bucket{${labels}${sep}le="+Inf"} ${this.count}`,
      `${name}_sum${labels === "" ? "" : `{${labels}}`} ${this.sum}`,
      `${name}_count${labels === "" ? "" : `{${labels}}`} ${this.count}`,
    ];
  }
}

export class Metrics {
  private readonly calls = new Map<
    string,
    { ok: number; fault: number; error: number; latency: Histogram }
  >();
  private dispatched = 0;
  /** When the last DISPATCH_RING jobs were dispatched here (Date.now), a ring: how busy dispatch is now. */
  private readonly dispatchTimes = new Float64Array(DISPATCH_RING).fill(-Infinity);
  private readonly queueWait = new Histogram(WAIT_BUCKETS);
  private readonly finished = new Map<Outcome, number>(OUTCOMES.map((o) => [o, 0]));
  private readonly runTime = new Histogram(RUN_BUCKETS);
  /** job id -> ms when this process dispatched it, and its paused spans (ms stopped; since when, while stopped) */
  private readonly runs = new Map<number, { start: number; pausedMs: number; pausedAt: number | null }>();
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 20 });
  /** "kind outcome" -> count, and "hook outcome" -> count (notices/sender.ts). */
  private readonly notices = new Map<string, number>();
  private readonly hookDeliveries = new Map<string, number>();

  constructor(private readonly ctx: Context) {
    this.loopDelay.enable();
  }

  /** The XML-RPC handler's onCall hook. */
  readonly onCall = (method: string, durationMs: number, outcome: CallOutcome): void => {
    let entry = this.calls.get(method);
    if (!entry) {
      entry = { ok: 0, fault: 0, error: 0, latency: new Histogram(LATENCY_BUCKETS) };
      this.calls.set(method, entry);
    }
    entry[outcome]++;
    entry.latency.observe(durationMs / 1000);
  };

  /**
   * How long ago (ms) this process dispatched the DISPATCH_RING-th last job; Infinity before it dispatched
   * that many. Small means dispatch is busy right now: unlike a rate sampled every so often, it tells at
   * once when a flood begins.
   */
  msSinceDispatches(now = Date.now()): number {
    return now - (this.dispatchTimes[this.dispatched % DISPATCH_RING] as number);
  }

  /** The link's hook when this process's dispatcher assigned a job (its hash as moveToAssigned left it). */
  jobDispatched(job: Record<string, string>, now = Date.now()): void {
    const id = Number(job["id"]);
    const since = Number(job["queueTime"]);
    this.dispatchTimes[this.dispatched % DISPATCH_RING] = now;
    this.dispatched++;
    this.queueWait.observe(Number.isFinite(since) ? Math.max(0, now - since) / 1000 : 0);
    if (this.runs.size >= MAX_TRACKED) this.runs.clear();
    this.runs.set(id, { start: now, pausedMs: 0, pausedAt: null });
  }

  /** The link's hook when the store applied an agent's `paused` (its run is stopped from now). */
  runPaused(jobId: number, now = Date.now()): void {
    const run = this.runs.get(jobId);
    if (run && run.pausedAt === null) run.pausedAt = now;
  }

  /** The link's hook when the store applied an agent's `resumed`. */
  runResumed(jobId: number, now = Date.now()): void {
    const run = this.runs.get(jobId);
    if (!run || run.pausedAt === null) return;
    run.pausedMs += Math.max(0, now - run.pausedAt);
    run.pausedAt = null;
  }

  /** The link's hook when an agent linked here reported a run's end and the store applied it. */
  runFinished(
    msg: Pick<FinishedMessage, "jobId" | "exitCode" | "signal" | "reason">,
    now = Date.now(),
  ): void {
    const outcome: Outcome =
      msg.reason === "cancelled"
        ? "cancelled"
        : msg.reason === "maxTime"
          ? "timeout"
          : msg.reason === "stalled"
            ? "stalled"
            : msg.reason === "spawnError"
              ? "spawn_error"
              : msg.signal
                ? "killed"
                : msg.exitCode === 0
                  ? "succeeded"
                  : "failed";
    this.finished.set(outcome, (this.finished.get(outcome) ?? 0) + 1);
    const run = this.runs.get(msg.jobId);
    if (run !== undefined) {
      this.runs.delete(msg.jobId);
      const stopped = run.pausedMs + (run.pausedAt === null ? 0 : Math.max(0, now - run.pausedAt));
      this.runTime.observe(Math.max(0, now - run.start - stopped) / 1000);
    }
  }

  /** A notice delivery ended (sent), failed and will be retried (retry), or was given up (failed). */
  notice(kind: string, outcome: string, hook?: string): void {
    const key = `${kind} ${outcome}`;
    this.notices.set(key, (this.notices.get(key) ?? 0) + 1);
    if (hook !== undefined) {
      const hookKey = `${hook} ${outcome}`;
      this.hookDeliveries.set(hookKey, (this.hookDeliveries.get(hookKey) ?? 0) + 1);
    }
  }

  async render(): Promise<string> {
    const out: string[] = [];
    const head = (name: string, type: string, help: string): void => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    };
    head("openhq_up", "gauge", "1 while the coordinator answers.");
    out.push("openhq_up 1");
    head("openhq_build_info", "gauge", "The coordinator's version and Node.js runtime.");
    out.push(`openhq_build_info{version="${escapeLabel(VERSION)}",node="${escapeLabel(process.version)}"} 1`);
    // With Redis down the scrape still answers (own counters, process): the alert rules need redis_up 0.
    let farm: string[] = [];
    let redisUp = 1;
    try {
      farm = await withTimeout(this.farmLines(), FARM_TIMEOUT_MS);
    } catch {
      redisUp = 0;
    }
    head(
      "openhq_redis_up",
      "gauge",
      "1 when this coordinator could read the farm from Redis at scrape time.",
    );
    out.push(`openhq_redis_up ${redisUp}`);
    out.push(...farm);
    head("openhq_jobs_dispatched_total", "counter", "Jobs this coordinator assigned to clients.");
    out.push(`openhq_jobs_dispatched_total ${this.dispatched}`);
    head("openhq_queue_wait_seconds", "histogram", "Time jobs dispatched here waited in the queue.");
    out.push(...this.queueWait.lines("openhq_queue_wait_seconds", ""));
    head("openhq_jobs_finished_total", "counter", "Job runs that ended on this coordinator's agents.");
    for (const [outcome, n] of this.finished)
      out.push(`openhq_jobs_finished_total{outcome="${outcome}"} ${n}`);
    head("openhq_job_run_seconds", "histogram", "Run time of the job runs dispatched and ended here.");
    out.push(...this.runTime.lines("openhq_job_run_seconds", ""));
    head("openhq_api_calls_total", "counter", "XML-RPC calls by method and outcome.");
    const methods = [...this.calls.keys()].sort();
    for (const m of methods) {
      const e = this.calls.get(m);
      if (!e) continue;
      out.push(`openhq_api_calls_total{method="${escapeLabel(m)}",outcome="ok"} ${e.ok}`);
      out.push(`openhq_api_calls_total{method="${escapeLabel(m)}",outcome="fault"} ${e.fault}`);
      out.push(`openhq_api_calls_total{method="${escapeLabel(m)}",outcome="error"} ${e.error}`);
    }
    head("openhq_api_call_duration_seconds", "histogram", "XML-RPC call latency by method.");
    for (const m of methods) {
      out.push(
        ...(this.calls
          .get(m)
          ?.latency.lines("openhq_api_call_duration_seconds", `method="${escapeLabel(m)}"`) ?? []),
      );
    }
    head(
      "openhq_notices_total",
      "counter",
      "Notices (mail, digest, webhook) this coordinator sent, retried or gave up.",
    );
    for (const [key, n] of this.notices) {
      const [kind, outcome] = key.split(" ");
      out.push(`openhq_notices_total{kind="${kind}",outcome="${outcome}"} ${n}`);
    }
    head(
      "openhq_webhook_deliveries_total",
      "counter",
      "Webhook deliveries by hook and outcome (sent, retry, failed).",
    );
    for (const [key, n] of this.hookDeliveries) {
      const cut = key.lastIndexOf(" ");
      out.push(
        `openhq_webhook_deliveries_total{hook="${escapeLabel(key.slice(0, cut))}",outcome="${key.slice(cut + 1)}"} ${n}`,
      );
    }
    this.processLines(head, out);
    return out.join("\n") + "\n";
  }

  /** The farm-wide gauges, read from Redis (a separate list: it is left out when Redis does not answer). */
  private async farmLines(): Promise<string[]> {
    const roundTrip = await redisRoundTrip(this.ctx);
    const counts = await jobCountsByStatus(this.ctx);
    const now = Date.now();
    const [farm, beats] = await Promise.all([readUtilisation(this.ctx, now), this.lastHeartbeats(now)]);

    const out: string[] = [];
    const head = (name: string, type: string, help: string): void => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    };
    head("openhq_jobs", "gauge", "Jobs per internal status.");
    JOB_STATUSES.forEach((s, i) => out.push(`openhq_jobs{status="${s}"} ${counts[i] ?? 0}`));
    head("openhq_clients", "gauge", "Clients per state (farm-wide).");
    for (const [state, n] of Object.entries(farm.clients)) out.push(`openhq_clients{state="${state}"} ${n}`);
    head(
      "openhq_cpu_slots",
      "gauge",
      "CPU slots of clients that can take work: total, and busy (farm-wide).",
    );
    out.push(
      `openhq_cpu_slots{state="busy"} ${farm.slotsBusy}`,
      `openhq_cpu_slots{state="total"} ${farm.slotsTotal}`,
    );
    const shares = await shareRows(this.ctx);
    head("openhq_share_running_slots", "gauge", "CPU slots held by each share's running jobs (farm-wide).");
    for (const r of shares)
      out.push(`openhq_share_running_slots{share="${escapeLabel(r.name)}"} ${r.running}`);
    head("openhq_share_guarantee_slots", "gauge", "Each share's guaranteed CPU slots.");
    for (const r of shares)
      out.push(`openhq_share_guarantee_slots{share="${escapeLabel(r.name)}"} ${r.guarantee}`);
    head("openhq_share_burst_slots", "gauge", "Each share's burst maximum in CPU slots (shares with one).");
    for (const r of shares)
      if (r.burstSlots !== null)
        out.push(`openhq_share_burst_slots{share="${escapeLabel(r.name)}"} ${r.burstSlots}`);
    head("openhq_client_heartbeat_lag_seconds", "gauge", "Seconds since each client's last heartbeat.");
    for (const { label, at } of beats) {
      const seconds = Math.max(0, now - at) / 1000;
      out.push(`openhq_client_heartbeat_lag_seconds{client="${escapeLabel(label)}"} ${seconds}`);
    }
    const [pending, dropped] = await Promise.all([
      new Outbox(this.ctx.redis, this.ctx.keys).pending(),
      this.ctx.redis.get(this.ctx.keys.noticesDropped),
    ]);
    head("openhq_notices_pending", "gauge", "Notices in the outbox, to send or being retried (farm-wide).");
    out.push(`openhq_notices_pending ${pending}`);
    head(
      "openhq_notices_dropped_total",
      "counter",
      "Notices dropped because the outbox was full (farm-wide).",
    );
    out.push(`openhq_notices_dropped_total ${Number(dropped ?? 0)}`);
    head("openhq_redis_roundtrip_seconds", "gauge", "Round trip of one Redis PING at scrape time.");
    out.push(`openhq_redis_roundtrip_seconds ${roundTrip}`);
    return out;
  }

  /**
   * Each registered client's label and last heartbeat (ms; those with one), in id order: the one field read
   * inside Redis (scanClients.lua), the labels from {p}clients:byLabel, no record read whole.
   */
  private async lastHeartbeats(now: number): Promise<{ label: string; at: number }[]> {
    const { redis, keys, settings } = this.ctx;
    const [ids, labels] = await Promise.all([allClientIds(this.ctx), clientLabelsById(redis, keys)]);
    const beats = await scanColumn(redis, keys, ids, now, settings.heartbeatIntervalMs, "", "lastHeartbeat");
    const out: { label: string; at: number }[] = [];
    for (const [id, value] of beats) {
      const at = Number(value ?? 0);
      if (at > 0) out.push({ label: labels.get(id) ?? "", at });
    }
    return out;
  }

  private processLines(head: (name: string, type: string, help: string) => void, out: string[]): void {
    const cpu = process.cpuUsage();
    const memory = process.memoryUsage();
    head("process_cpu_seconds_total", "counter", "User and system CPU time of the process.");
    out.push(`process_cpu_seconds_total ${(cpu.user + cpu.system) / 1e6}`);
    head("process_resident_memory_bytes", "gauge", "Resident memory of the process.");
    out.push(`process_resident_memory_bytes ${memory.rss}`);
    head("process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch.");
    out.push(`process_start_time_seconds ${Math.round(Date.now() / 1000 - process.uptime())}`);
    head("nodejs_heap_used_bytes", "gauge", "V8 heap in use.");
    out.push(`nodejs_heap_used_bytes ${memory.heapUsed}`);
    head("nodejs_eventloop_lag_seconds", "gauge", "Event-loop delay, p99 since the previous scrape.");
    out.push(`nodejs_eventloop_lag_seconds ${this.loopDelay.percentile(99) / 1e9}`);
    this.loopDelay.reset();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("timed out")), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
