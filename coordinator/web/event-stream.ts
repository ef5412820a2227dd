// GET /events: Server-Sent Events of job and client transitions, for pipelines and dashboards that want to
// be told rather than poll. The source is the store's own change notices on {p}events, and {p}events:viewers
// for the one the scheduler does without (a dispatch: moveToAssigned.lua's "running"), heard on the process's
// one subscription (store/events.ts EventFeed, shared with the scheduler) from the first viewer to the last.
// Each job notice is completed once (its tree's root, submitter and share), whatever the number of viewers,
// and handed to every viewer whose filters match, in the order Redis published them. A dispatch's notice
// carries them; they are kept for the job until it finishes (a bounded map), so the usual life of a job,
// running then succeeded, costs no Redis read; other jobs' notices cost one HMGET. What goes to a viewer is
// written every FLUSH_MS at most, not once per notice: at a flood's rate of notices a write each costs more
// than the rest of the stream together.
//
// Event kinds (the SSE `event:` line; `data:` is one JSON object):
//   open      {}                                          first: the stream is subscribed
//   job       {jobId, status, root, user, share}          a job changed status
//   client    {clientId, change}                          connected | disconnected | disabled | enabled
//   blade     {clientId}                                  a blade's quarantine or blocklistings changed
//   jobs      {added | deleted | priorityChanged}         a bulk change (no per-job notices)
//   farm      {}                                          groups or resources changed
// Filters (query): job=<id> (that job's tree: the root's id, or any job's own id), user=<submitter>,
// share=<share>, types=job,client,… (kinds). A comment line every KEEPALIVE_MS keeps proxies from closing an idle stream.
//
// Resume: each event but `open` and `gap` has an SSE id (this process's boot id and a sequence number). A
// viewer that comes back with Last-Event-ID (EventSource sends it when it reconnects) first gets the events
// it missed, from the last RECENT_EVENTS this process kept, filtered as it asks, then the live ones; one
// whose id is unknown here (another coordinator's, too old, or from before a gap in the subscription) gets a
// `gap` event instead. The subscription stays LINGER_MS after the last viewer leaves, so a reconnect within
// that finds nothing missing.
//
// Bounds: a viewer whose unsent data passes MAX_BUFFERED_BYTES (it stopped reading) is dropped, so a stalled
// reader costs that much at most; VIEWERS_PER_USER streams per user (or address without a login), MAX_VIEWERS
// in all; completing notices waits on Redis for MAX_PENDING at most, beyond which notices are dropped and every
// viewer gets a `gap` event (look again with the API).

import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { FINISHED_STATUSES } from "../../shared/statuses.js";
import type { Context } from "../context.js";
import type { EventFeed, Notice } from "../store/events.js";

export const MAX_BUFFERED_BYTES = 256 * 1024;
export const VIEWERS_PER_USER = 8;
const MAX_VIEWERS = 1000;
const MAX_PENDING = 10_000;
const KEEPALIVE_MS = 15_000;
/** How long a frame may wait for others to go out with it. */
const FLUSH_MS = 50;
/** Unsent data that goes out at once rather than waiting (a burst must not pass MAX_BUFFERED_BYTES unsent). */
const FLUSH_BYTES = 32 * 1024;
/** Events kept for viewers that come back with Last-Event-ID (a few hundred bytes each). */
const RECENT_EVENTS = 1000;
const LINGER_MS = 30_000;
/** Jobs whose tree, submitter and share are kept between their notices (each entry a few dozen bytes). */
const MAX_KNOWN_JOBS = 20_000;
const KINDS = new Set(["job", "client", "blade", "jobs", "farm"]);
const FINISHED = new Set<string>(FINISHED_STATUSES);

interface Filters {
  job: number | null;
  user: string | null;
  share: string | null;
  kinds: Set<string> | null;
}

interface Viewer {
  res: ServerResponse;
  key: string;
  filters: Filters;
  /** Frames not yet written (written together within FLUSH_MS). */
  unsent: string;
}

/** A job's tree, submitter and share, what the job filters look at. */
interface JobSubject {
  root: number;
  user: string;
  share: string;
}

/** A notice ready to send: its kind, its data, and for job notices what the filters look at. */
interface Outgoing {
  kind: string;
  data: Record<string, unknown>;
  jobId?: number;
  subject?: JobSubject;
}

/** The query's filters, or the reason they are refused. */
export function readEventFilters(params: URLSearchParams): Filters | string {
  const job = params.get("job");
  if (job !== null && !/^\d{1,15}$/.test(job)) return "job: expected a job id";
  const user = params.get("user");
  if (user !== null && user.length > 256) return "user: longer than 256 characters";
  const share = params.get("share");
  if (share !== null && share.length > 256) return "share: longer than 256 characters";
  const types = params.get("types");
  let kinds: Set<string> | null = null;
  if (types !== null) {
    kinds = new Set(types.split(",").filter((t) => t !== ""));
    for (const kind of kinds)
      if (!KINDS.has(kind)) return `types: unknown kind ${JSON.stringify(kind.slice(0, 40))}`;
  }
  return {
    job: job === null ? null : Number(job),
    user: user === "" ? null : user,
    share: share === "" ? null : share,
    kinds,
  };
}

function matches(filters: Filters, event: Outgoing): boolean {
  if (event.kind === "gap") return true;
  if (filters.kinds !== null && !filters.kinds.has(event.kind)) return false;
  const subject = event.subject;
  if (filters.job !== null && subject?.root !== filters.job && event.jobId !== filters.job) return false;
  if (filters.user !== null && subject?.user !== filters.user) return false;
  if (filters.share !== null && subject?.share !== filters.share) return false;
  return true;
}

export class EventStream {
  private readonly viewers = new Set<Viewer>();
  private readonly perKey = new Map<string, number>();
  private listening: { close(): void } | null = null;
  private subscribed: Promise<void> | null = null;
  private keepalive: NodeJS.Timeout | null = null;
  /** Deliveries in publication order: each waits for the one before. */
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;
  private gap = false;
  /** Subjects of jobs seen running and not yet finished, oldest first (a Map keeps insertion order). */
  private readonly known = new Map<number, JobSubject>();
  private readonly unsent = new Set<Viewer>();
  private flushing = false;
  /** This process's part of every event id: an id of another process (or an earlier one) is not resumed. */
  private readonly boot = randomBytes(4).toString("hex");
  /** The last event's sequence number. */
  private seq = 0;
  /** Events after this one were all received: the subscription began or was resumed, or notices were lost. */
  private since = 0;
  /** The last RECENT_EVENTS events, by seq % RECENT_EVENTS. */
  private readonly recent: ({ seq: number; event: Outgoing; frame: string } | undefined)[] = [];
  private linger: NodeJS.Timeout | null = null;
  /** Viewers dropped for not reading, since start (for tests and the log). */
  dropped = 0;

  constructor(
    private readonly ctx: Context,
    private readonly feed: EventFeed,
  ) {}

  /**
   * Serves one viewer (access control already passed); `key` is its user, or its address without a login;
   * `lastEventId` its Last-Event-ID header, if any.
   */
  open(
    req: IncomingMessage,
    res: ServerResponse,
    key: string,
    filters: Filters,
    lastEventId: string | undefined,
  ): void {
    const held = this.perKey.get(key) ?? 0;
    if (held >= VIEWERS_PER_USER || this.viewers.size >= MAX_VIEWERS) {
      res
        .writeHead(429, { "content-type": "text/plain; charset=utf-8", "retry-after": "10" })
        .end("too many event streams open\n");
      return;
    }
    const viewer: Viewer = { res, key, filters, unsent: "" };
    this.viewers.add(viewer);
    this.perKey.set(key, held + 1);
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    });
    res.write("retry: 5000\n\n");
    if (lastEventId !== undefined) this.replay(viewer, lastEventId);
    const gone = (): void => this.leave(viewer);
    res.once("close", gone);
    req.socket.setTimeout(0);
    // The `open` event tells the viewer it is subscribed: what happens from now on reaches it.
    void this.start().then(() => this.write(viewer, "event: open\ndata: {}\n\n"));
  }

  /** Ends every stream (shutdown). */
  close(): void {
    for (const viewer of [...this.viewers]) viewer.res.end();
    this.stop();
  }

  private leave(viewer: Viewer): void {
    if (!this.viewers.delete(viewer)) return;
    const left = (this.perKey.get(viewer.key) ?? 1) - 1;
    if (left > 0) this.perKey.set(viewer.key, left);
    else this.perKey.delete(viewer.key);
    if (this.viewers.size === 0 && this.subscribed !== null) {
      this.linger = setTimeout(() => this.stop(), LINGER_MS);
      this.linger.unref();
    }
  }

  /** What a viewer that came back missed (those its filters match), or a `gap` when that is not known. */
  private replay(viewer: Viewer, lastEventId: string): void {
    const m = /^([0-9a-f]{8})-(\d{1,15})$/.exec(lastEventId);
    const after = m !== null && m[1] === this.boot ? Number(m[2]) : -1;
    if (after < this.since || after > this.seq || after < this.seq - RECENT_EVENTS) {
      this.write(viewer, "event: gap\ndata: {}\n\n");
      return;
    }
    for (let seq = after + 1; seq <= this.seq; seq++) {
      const kept = this.recent[seq % RECENT_EVENTS];
      if (kept !== undefined && kept.seq === seq && matches(viewer.filters, kept.event))
        this.write(viewer, kept.frame);
    }
  }

  /** Subscribes (once, for every viewer); resolves when Redis confirmed the subscription. */
  private start(): Promise<void> {
    if (this.linger) clearTimeout(this.linger);
    this.linger = null;
    if (this.subscribed !== null) return this.subscribed;
    this.since = this.seq;
    const listening = this.feed.listen(
      // A (re)connect of the subscription may have missed notices: no resume from before it.
      { message: (notice) => this.notice(notice), ready: () => (this.since = this.seq) },
      [this.ctx.keys.viewerEventsChannel],
    );
    this.listening = listening;
    this.subscribed = listening.subscribed;
    this.keepalive = setInterval(() => {
      for (const viewer of this.viewers) this.write(viewer, ": keepalive\n\n");
    }, KEEPALIVE_MS);
    this.keepalive.unref();
    return this.subscribed;
  }

  private stop(): void {
    if (this.linger) clearTimeout(this.linger);
    this.linger = null;
    this.listening?.close();
    this.listening = null;
    this.subscribed = null;
    this.known.clear();
    if (this.keepalive) clearInterval(this.keepalive);
    this.keepalive = null;
  }

  /** One notice from Redis: completed (job notices) and delivered after those before it. */
  private notice(event: Readonly<Notice>): void {
    const outgoing = this.shape(event);
    if (outgoing === null) return;
    if (this.pending >= MAX_PENDING) {
      this.gap = true;
      this.since = this.seq;
      return;
    }
    // Nothing waits for Redis: this one goes out at once (client and farm notices, and jobs already known).
    const ready = outgoing.jobId === undefined || outgoing.subject !== undefined;
    if (ready && this.pending === 0 && !this.gap) {
      this.deliver(outgoing);
      return;
    }
    this.pending++;
    // Asked now, so Redis answers in publication order; delivered in the same order.
    const completed = ready ? Promise.resolve(outgoing) : this.complete(outgoing);
    this.chain = this.chain.then(async () => {
      const ready = await completed;
      this.pending--;
      if (this.gap) {
        this.gap = false;
        this.deliver({ kind: "gap", data: {} });
      }
      this.deliver(ready);
    });
  }

  private shape(event: Readonly<Notice>): Outgoing | null {
    const type = event["type"];
    if (type === "job" && typeof event["jobId"] === "number") {
      const jobId = event["jobId"];
      const status = typeof event["status"] === "string" ? event["status"] : null;
      const carried =
        typeof event["root"] === "number" &&
        typeof event["user"] === "string" &&
        typeof event["share"] === "string"
          ? { root: event["root"], user: event["user"], share: event["share"] }
          : undefined;
      const subject = carried ?? this.known.get(jobId);
      const outgoing: Outgoing = { kind: "job", jobId, data: { jobId, status } };
      if (subject !== undefined) this.setSubject(outgoing, subject);
      return outgoing;
    }
    if (type === "client" || type === "blade")
      return {
        kind: type,
        data: { clientId: event["clientId"], ...(type === "client" ? { change: event["change"] } : {}) },
      };
    if (type === "farm") return { kind: type, data: {} };
    if (type === "jobs") {
      const data: Record<string, unknown> = {};
      for (const name of ["added", "deleted", "priorityChanged"])
        if (typeof event[name] === "number") data[name] = event[name];
      return { kind: type, data };
    }
    return null; // scheduler-internal notices (released, avoid)
  }

  private async complete(event: Outgoing): Promise<Outgoing> {
    const jobId = event.jobId as number;
    let subject: JobSubject;
    try {
      const [root, user, share] = await this.ctx.redis.hmget(
        this.ctx.keys.job(jobId),
        "root",
        "submittedBy",
        "share",
      );
      subject = { root: root === null ? jobId : Number(root), user: user ?? "", share: share ?? "default" };
    } catch {
      subject = { root: jobId, user: "", share: "" };
    }
    this.setSubject(event, subject);
    return event;
  }

  /** Completes a job notice, and keeps its job's subject while the job is unfinished. */
  private setSubject(event: Outgoing, subject: JobSubject): void {
    const jobId = event.jobId as number;
    event.subject = subject;
    event.data["root"] = subject.root;
    event.data["user"] = subject.user;
    event.data["share"] = subject.share;
    if (FINISHED.has(event.data["status"] as string)) {
      this.known.delete(jobId);
      return;
    }
    if (this.known.size >= MAX_KNOWN_JOBS && !this.known.has(jobId)) {
      const oldest = this.known.keys().next().value;
      if (oldest !== undefined) this.known.delete(oldest);
    }
    this.known.set(jobId, subject);
  }

  private deliver(event: Outgoing): void {
    let frame = `event: ${event.kind}\ndata: ${JSON.stringify(event.data)}\n\n`;
    if (event.kind !== "gap") {
      const seq = ++this.seq;
      frame = `id: ${this.boot}-${seq}\n${frame}`;
      this.recent[seq % RECENT_EVENTS] = { seq, event, frame };
    }
    for (const viewer of this.viewers) if (matches(viewer.filters, event)) this.write(viewer, frame);
  }

  /** Queues a frame; every viewer's queue is written within FLUSH_MS (or once FLUSH_BYTES wait), in one go. */
  private write(viewer: Viewer, frame: string): void {
    const { res } = viewer;
    if (res.destroyed) return;
    viewer.unsent += frame;
    // A viewer that stopped reading: its unsent data would grow without end.
    if (res.writableLength + viewer.unsent.length > MAX_BUFFERED_BYTES) {
      this.drop(viewer);
      return;
    }
    if (viewer.unsent.length >= FLUSH_BYTES) {
      this.send(viewer);
      return;
    }
    this.unsent.add(viewer);
    if (this.flushing) return;
    this.flushing = true;
    setTimeout(() => this.flush(), FLUSH_MS);
  }

  private flush(): void {
    this.flushing = false;
    for (const viewer of this.unsent) this.send(viewer);
    this.unsent.clear();
  }

  private send(viewer: Viewer): void {
    const { res } = viewer;
    const text = viewer.unsent;
    viewer.unsent = "";
    if (res.destroyed || text === "") return;
    res.write(text);
    if (res.writableLength > MAX_BUFFERED_BYTES) this.drop(viewer);
  }

  private drop(viewer: Viewer): void {
    this.dropped++;
    viewer.unsent = "";
    viewer.res.destroy();
    this.leave(viewer);
  }
}
