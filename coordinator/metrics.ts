// GET /metrics in the Prometheus text exposition format (version 0.0.4). Counters and histograms of this
// process (API calls, dispatches) live in memory; gauges (jobs by status, clients by state, heartbeat lag,
// Redis round trip) are read from Redis at scrape time, so any coordinator of a farm answers the same.
//
//   openhq_up                                   1
//   openhq_jobs{status}                         jobs per internal status (ZCARD of the status sets)
//   openhq_jobs_dispatched_total                jobs that went from waiting to running (farm-wide, seen
//                                               on the {p}events channel since this process started)
//   openhq_queue_wait_seconds (histogram)       their wait: since they became runnable, or since
//                                               submission when that was not seen (bulk newjob)
//   openhq_clients{state}                       available | unavailable | disabled | not_responding
//   openhq_client_heartbeat_lag_seconds{client} seconds since each client's last heartbeat
//   openhq_redis_roundtrip_seconds              one PING, timed at scrape
//   openhq_api_calls_total{method,outcome}      XML-RPC calls, outcome ok | fault | error (internal)
//   openhq_api_call_duration_seconds{method}    (histogram) XML-RPC call latency

import { FINISHED_STATUSES, JOB_STATUSES, type JobStatus } from "../shared/statuses.js";
import type { CallOutcome } from "../shared/xmlrpc/server.js";
import type { Context } from "./context.js";
import { apiFor } from "./web/api.js";

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const WAIT_BUCKETS = [0.01, 0.1, 1, 5, 15, 60, 300, 900, 3600, 14400, 86400];

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
  private readonly queueWait = new Histogram(WAIT_BUCKETS);

  /** Last status seen per job on {p}events, and when it became runnable: tells dispatches from resumes. */
  private readonly seen = new Map<number, { status: string; since: number }>();

  constructor(private readonly ctx: Context) {
    this.watchEvents();
  }

  /** Counts dispatches from the store's status events (one subscriber connection per process). */
  private watchEvents(): void {
    const subscriber = this.ctx.redis.duplicate();
    subscriber.on("error", () => {}); // ioredis reconnects; a gap only loses a few dispatch counts
    void subscriber.subscribe(this.ctx.keys.eventsChannel).catch(() => {});
    subscriber.on("message", (_channel: string, text: string) => {
      let event: { type?: string; jobId?: number; status?: string };
      try {
        event = JSON.parse(text) as typeof event;
      } catch {
        return;
      }
      if (event.type !== "job" || typeof event.jobId !== "number" || typeof event.status !== "string") return;
      void this.onStatus(event.jobId, event.status);
    });
  }

  private async onStatus(jobId: number, status: string): Promise<void> {
    const now = Date.now();
    const before = this.seen.get(jobId);
    if (status === "running" && before?.status !== "resuming") {
      let since = before?.status === "runnable" ? before.since : NaN;
      if (Number.isNaN(since))
        since = Number(await this.ctx.redis.hget(this.ctx.keys.job(jobId), "queueTime"));
      this.recordDispatch(Number.isFinite(since) ? now - since : 0);
    }
    if (FINISHED_STATUSES.includes(status as JobStatus)) this.seen.delete(jobId);
    else {
      // Bounded: a farm with more waiting jobs than this only loses the "since runnable" precision.
      if (this.seen.size >= 200_000) this.seen.clear();
      this.seen.set(jobId, { status, since: now });
    }
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

  private recordDispatch(queueWaitMs: number): void {
    this.dispatched++;
    this.queueWait.observe(Math.max(0, queueWaitMs) / 1000);
  }

  async render(): Promise<string> {
    const { redis, keys, settings } = this.ctx;
    const pipeline = redis.pipeline();
    for (const status of JOB_STATUSES) pipeline.zcard(keys.jobsByStatus(status));
    const started = process.hrtime.bigint();
    await redis.ping();
    const roundTrip = Number(process.hrtime.bigint() - started) / 1e9;
    const counts = ((await pipeline.exec()) ?? []).map(([err, n]) => (err ? 0 : Number(n)));

    type ClientRow = { label?: string; disabled?: boolean; available?: boolean; lastHeartbeat?: Date | null };
    const api = apiFor(this.ctx);
    const clients = api.has("getClients")
      ? await api.call<ClientRow[]>("getClients", null, ["label", "disabled", "available", "lastHeartbeat"])
      : [];
    const now = Date.now();
    const states = { available: 0, unavailable: 0, disabled: 0, not_responding: 0 };
    const lag: [string, number][] = [];
    for (const c of clients) {
      const beat = c.lastHeartbeat instanceof Date ? c.lastHeartbeat.getTime() : null;
      const silentMs = beat === null ? Infinity : now - beat;
      if (beat !== null) lag.push([c.label ?? "", Math.max(0, silentMs) / 1000]);
      if (silentMs > settings.activeTimeoutMinutes * 60_000) states.not_responding++;
      else if (c.disabled) states.disabled++;
      else if (c.available === false) states.unavailable++;
      else states.available++;
    }

    const out: string[] = [];
    const head = (name: string, type: string, help: string): void => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    };
    head("openhq_up", "gauge", "1 while the coordinator answers.");
    out.push("openhq_up 1");
    head("openhq_jobs", "gauge", "Jobs per internal status.");
    JOB_STATUSES.forEach((s, i) => out.push(`openhq_jobs{status="${s}"} ${counts[i] ?? 0}`));
    head("openhq_jobs_dispatched_total", "counter", "Jobs that went from waiting to running (farm-wide).");
    out.push(`openhq_jobs_dispatched_total ${this.dispatched}`);
    head("openhq_queue_wait_seconds", "histogram", "Time jobs waited in the queue before dispatch.");
    out.push(...this.queueWait.lines("openhq_queue_wait_seconds", ""));
    head("openhq_clients", "gauge", "Clients per state.");
    for (const [state, n] of Object.entries(states)) out.push(`openhq_clients{state="${state}"} ${n}`);
    head("openhq_client_heartbeat_lag_seconds", "gauge", "Seconds since each client's last heartbeat.");
    for (const [label, seconds] of lag) {
      out.push(`openhq_client_heartbeat_lag_seconds{client="${escapeLabel(label)}"} ${seconds}`);
    }
    head("openhq_redis_roundtrip_seconds", "gauge", "Round trip of one Redis PING at scrape time.");
    out.push(`openhq_redis_roundtrip_seconds ${roundTrip}`);
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
    return out.join("\n") + "\n";
  }
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

const perContext = new WeakMap<Context, Metrics>();

/** The one Metrics of a coordinator process (the XML-RPC handler, the scheduler and /metrics share it). */
export function metricsFor(ctx: Context): Metrics {
  let metrics = perContext.get(ctx);
  if (!metrics) {
    metrics = new Metrics(ctx);
    perContext.set(ctx, metrics);
  }
  return metrics;
}
