// The scheduler of one coordinator process: the Dispatcher for the agents connected here, the store's
// notices that wake it ({p}events), and its slow maintenance (groups, stale holds, waiting reasons).
// main.ts creates it with the agent link as the way to reach agents, hands its dispatcher to that link, and
// starts and stops it with the other parts (lifecycle.ts). (Design: coordinator/scheduler/README.md.)

import { DISPATCH_DEFAULTS, type Context } from "../context.js";
import type { JobRecord } from "../store/jobs.js";
import { Dispatcher } from "./dispatch.js";
import type { EventFeed, Notice } from "../store/events.js";
import { headClasses, thinClock } from "../store/queue.js";
import { Scripts } from "../store/dispatch-scripts.js";
import { readGroups, sweepWaiting } from "./waiting.js";
import type { RegisteredClients } from "./registered.js";
import { ClassReasons } from "./class-reasons.js";
import { readShareState, writeFarmSlots } from "../store/shares.js";

/** Classes of {p}queue:heads refreshed per maintenance round. */
const HEADS_SWEEP = 1000;

/** How the scheduler reaches agents: the agent link sends `assign` to each client of a job. */
export interface Delivery {
  deliver(job: JobRecord): void;
}

export class Scheduler {
  readonly dispatcher: Dispatcher;
  private readonly scripts: Scripts;
  private readonly reasons: ClassReasons;
  /** The registered clients the waiting reasons are judged against, re-read in turn (registered.ts). */
  private readonly registered: RegisteredClients;
  private listening: { close(): void } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private groups = new Map<number, Set<string>>();
  private busy = false;
  private headsOffset = 0;
  /** Where the next thinning of {p}queue:clock starts (ms): its whole history after a start. */
  private clockFrom = 0;

  constructor(
    private readonly ctx: Context,
    private readonly feed: EventFeed,
    registered: RegisteredClients,
    /** The agent link (built after the scheduler, from its dispatcher); used once started. */
    private readonly delivery: Delivery,
  ) {
    this.scripts = new Scripts(ctx);
    this.reasons = new ClassReasons(ctx, this.scripts);
    this.registered = registered;
    this.dispatcher = new Dispatcher(ctx, {
      scripts: this.scripts,
      deliver: (job) => this.delivery.deliver(job),
    });
  }

  start(): void {
    this.listening = this.feed.listen({
      message: (notice) => this.onEvent(notice),
      // After a Redis restart some events may be lost: look at the queue again.
      ready: () => this.dispatcher.trigger(),
    });
    void this.guard(() => this.sharesChanged()).then(() => this.dispatcher.trigger());
    // The slow safety net besides push dispatch: groups, waiting reasons, stale holds.
    const { maintenanceMs } = this.ctx.settings.dispatch ?? DISPATCH_DEFAULTS;
    this.timer = setInterval(() => void this.maintainOnce(), maintenanceMs);
    this.timer.unref();
    void this.maintainOnce();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.listening?.close();
    this.listening = null;
    await this.dispatcher.close();
  }

  /**
   * Notices of the store (coordinator/store/lua): {type:"job", jobId, status?, released?} per transition,
   * {type:"jobs", added|deleted|priorityChanged…} for bulk scripts, {type:"released", jobId, clients},
   * {type:"farm"} when group membership or resource definitions change, {type:"avoid", jobId, clientId} when
   * an attempt failed on a blade (lua/includes/bladeHealth.lua), {type:"blade", clientId} when a blade's
   * quarantine or blocklistings changed, {type:"shares"} when shares were configured or changed.
   */
  private onEvent(notice: Readonly<Notice>): void {
    const event = notice as {
      type?: string;
      jobId?: number;
      id?: number;
      status?: string;
      clients?: number[];
      released?: number[];
      clientId?: number;
    };
    const jobId = event.jobId ?? event.id;
    if (event.type === "job" && typeof jobId === "number") {
      // A finish that released clients says so on its status notice (setStatus `known.released`).
      for (const cid of event.released ?? []) this.dispatcher.jobLeft(Number(cid), jobId);
      this.dispatcher.jobChanged(jobId, event.status ?? "");
    } else if (event.type === "jobs") this.dispatcher.trigger();
    else if (event.type === "farm") void this.guard(() => this.farmChanged());
    else if (event.type === "shares") void this.guard(() => this.sharesChanged());
    else if (event.type === "released" && typeof jobId === "number")
      for (const cid of event.clients ?? []) this.dispatcher.jobLeft(Number(cid), jobId);
    else if (event.type === "avoid" && typeof jobId === "number" && typeof event.clientId === "number")
      this.dispatcher.avoid(jobId, event.clientId);
    else if (event.type === "blade" && typeof event.clientId === "number")
      void this.guard(() => this.dispatcher.refreshClient(event.clientId as number));
  }

  private async maintainOnce(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    await this.guard(() => this.maintain());
    this.busy = false;
  }

  private async guard(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      void this.ctx.recordError({ message: `scheduler: ${(err as Error).message}`, time: Date.now() });
    }
  }

  /** Groups or resources changed through the API: what waited on them may fit now. */
  private async farmChanged(): Promise<void> {
    this.groups = await readGroups(this.ctx);
    this.dispatcher.setGroups(this.groups);
    this.dispatcher.retryResources();
  }

  /** Shares were configured or changed (store/shares.ts): dispatch by the new ones. */
  private async sharesChanged(): Promise<void> {
    this.dispatcher.shares.setState(await readShareState(this.ctx));
    this.dispatcher.retryResources();
  }

  /**
   * {p}queue:heads keeps lower bounds of each class's head and emptied classes (util.lua); dispatch prunes
   * what it reads, and this walks the rest, HEADS_SWEEP classes per round, so classes nobody here can run
   * do not pile up. Returns the classes walked.
   */
  private async refreshHeads(): Promise<string[]> {
    const from = this.headsOffset;
    const classes = await headClasses(this.ctx, from, HEADS_SWEEP);
    this.headsOffset = classes.length < HEADS_SWEEP ? 0 : from + HEADS_SWEEP;
    for (let i = 0; i < classes.length; i += 100) await this.scripts.pruneClasses(classes.slice(i, i + 100));
    return classes;
  }

  private async maintain(): Promise<void> {
    this.groups = await readGroups(this.ctx);
    this.dispatcher.setGroups(this.groups);
    for (const client of this.dispatcher.clients.values()) {
      if (client.heldFor === null) continue;
      if ((await this.scripts.run("releaseHold", client.heldFor, client.id)) === 1) client.heldFor = null;
    }
    const clients = await this.registered.read(this.groups);
    // The farm's CPU slots, for bursts given in % of the farm (lua/includes/shares.lua).
    await writeFarmSlots(
      this.ctx,
      clients.reduce((sum, c) => sum + (c.terminated ? 0 : c.cpus), 0),
    );
    this.dispatcher.shares.setState(await readShareState(this.ctx));
    await sweepWaiting(this.ctx, this.scripts, clients);
    // The heads walked this round are the classes judged this round: every class in turn, without a scan.
    await this.reasons.round(await this.refreshHeads(), clients);
    this.clockFrom = await thinClock(this.ctx, this.clockFrom, Date.now());
    // Resource amounts can change through the API without any job event: look again now and then.
    this.dispatcher.retryResources();
  }
}
