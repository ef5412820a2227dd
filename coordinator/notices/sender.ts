// The notice sender every coordinator runs: each `pollMs` it claims due notices from the outbox (lease and
// fencing token: outbox.ts), fans job transitions out into mails and webhook deliveries, and sends those,
// retrying a failure with a doubling wait until giveUpMs. At most MAX_IN_FLIGHT sends are open at once and
// each has a timeout, so a dead mail server or endpoint costs a few sockets and nothing else: it runs beside
// dispatch, never in its path. Its Redis work is batched, since it runs on the event loop that dispatches:
// one claim, one read of the jobs and one fan-out step for many transitions, their deliveries sent without
// a claim of their own, and the outcomes of the sends that end together written in one step. While more is
// due than one claim takes, it claims again as soon as sends free up, rather than at the next poll. It also sends the digest of server errors to email_to, one a period at most.

import { randomBytes } from "node:crypto";
import type { Context } from "../context.js";
import type { Metrics } from "../metrics.js";
import { runScript } from "../store/lua-scripts.js";
import { readJobReports, type JobReport } from "./job-report.js";
import { digestMail, isPermanentMailError, jobMail, MailSender } from "./mail.js";
import { addressList } from "./addresses.js";
import {
  Outbox,
  type Claimed,
  type MailNotice,
  type HookNotice,
  type Notice,
  type Outcome,
  type TransitionNotice,
} from "./outbox.js";
import type { NoticeSettings } from "./settings.js";
import { hookNotice, hookWants, WebhookPoster } from "./webhooks.js";

const MAX_IN_FLIGHT = 32;
/** Notices one Lua call ends or fans out at most (its arguments stay a few hundred KiB at most). */
const MAX_PER_CALL = 256;
/** Claims one tick makes at most while the outbox has more due (the rest waits for sends to end). */
const MAX_CLAIMS_PER_TICK = 8;
/**
 * While this coordinator dispatched its last DISPATCH_RING (100) jobs within this long (more than 200 a
 * second: a flood of short jobs), delivery yields to dispatch, which it shares an event loop with: one claim
 * a poll, no more, until the flood calms down.
 */
const BUSY_WITHIN_MS = 500;
/** The longest a webhook POST may take (within half the lease: sendTimeoutMs), and each step of a mail. */
const HOOK_TIMEOUT_MS = 10_000;
const MAIL_STEP_TIMEOUT_MS = 20_000;
const MAX_BACKOFF_MS = 30 * 60_000;
const DIGEST_ERRORS_READ = 200;
const DIGEST_ERRORS_LISTED = 50;

export class NoticeSender {
  private readonly outbox: Outbox;
  private readonly mail: MailSender | null;
  private readonly hooks = new WebhookPoster(MAX_IN_FLIGHT);
  private timer: NodeJS.Timeout | null = null;
  /** Sends open now (at most MAX_IN_FLIGHT), each ending once its outcome is written. */
  private readonly inFlight = new Set<Promise<void>>();
  /** Deliveries claimed (or fanned out) and waiting for a free send. */
  private queued: Claimed[] = [];
  /** The last claim took all it asked for: more is due, so the next tick comes as soon as sends free up. */
  private behind = false;
  private ticking = false;
  private droppedSeen: number | null = null;
  private stopped = false;
  /** Ended deliveries whose outcome is written together at the end of this turn of the event loop. */
  private ends: { claim: Claimed; outcome: Outcome }[] = [];
  private endsWritten: Promise<void> | null = null;

  constructor(
    private readonly ctx: Context,
    private readonly settings: NoticeSettings,
    private readonly metrics: Metrics,
    private readonly log: (line: string) => void,
  ) {
    this.outbox = new Outbox(ctx.redis, ctx.keys);
    // Connect, greeting and each reply have a step bound: three of them fit in half the lease.
    this.mail =
      settings.smtp === null
        ? null
        : new MailSender(settings.smtp, Math.min(MAIL_STEP_TIMEOUT_MS, settings.leaseMs / 6));
  }

  /** Tells the transitions what to enqueue, then starts the polling. */
  async start(): Promise<void> {
    const hookStatuses = new Set<string>();
    for (const hook of this.settings.webhooks) for (const s of hook.events) hookStatuses.add(s);
    await this.outbox.configure(this.settings.maxOutbox, this.mail !== null, [...hookStatuses]);
    this.timer = setInterval(() => void this.tick(), this.settings.pollMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    // What is still being sent or queued stays claimed: another coordinator (or this one, restarted) sends it
    // after the lease. Wait a little for sends that are about to end.
    this.queued = [];
    await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((r) => setTimeout(r, 2000))]);
    this.mail?.close();
    this.hooks.close();
  }

  /**
   * Claims due notices while there is room for their sends: deliveries are queued for a send, transitions
   * fanned out (into deliveries, queued too). While the outbox has more due than one claim takes, it claims
   * again, and once sends have freed half the room the next tick starts at once rather than at the poll;
   * except while dispatch is busy (BUSY_WITHIN_MS): then one claim a poll.
   */
  private async tick(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    try {
      await this.digest();
      const busy = this.metrics.msSinceDispatches() < BUSY_WITHIN_MS;
      for (let i = 0; i < (busy ? 1 : MAX_CLAIMS_PER_TICK) && !this.stopped; i++) {
        const room = MAX_IN_FLIGHT - this.inFlight.size - this.queued.length;
        if (room <= 0) break;
        const claimed = await this.outbox.claim(this.settings.leaseMs, room);
        this.behind = !busy && claimed.length === room;
        const transitions = claimed.filter((c) => c.notice.type === "transition");
        this.queued.push(...claimed.filter((c) => c.notice.type !== "transition"));
        this.pump();
        if (transitions.length > 0) {
          this.queued.push(...(await this.fanOut(transitions)));
          this.pump();
        }
        if (!this.behind) break;
      }
      await this.reportDropped();
    } catch (err) {
      this.log(`notices: ${(err as Error).message}`);
    } finally {
      this.ticking = false;
    }
  }

  /** Starts queued sends while fewer than MAX_IN_FLIGHT are open. */
  private pump(): void {
    while (this.inFlight.size < MAX_IN_FLIGHT && !this.stopped) {
      const claim = this.queued.shift();
      if (claim === undefined) return;
      const send = this.handle(claim).catch((err: Error) =>
        this.log(`notice ${claim.id}: ${err.message} (it is tried again after its lease)`),
      );
      this.inFlight.add(send);
      void send.finally(() => {
        this.inFlight.delete(send);
        this.pump();
        if (this.behind && this.inFlight.size + this.queued.length <= MAX_IN_FLIGHT / 2) void this.tick();
      });
    }
  }

  private async handle(claim: Claimed): Promise<void> {
    const notice = claim.notice;
    if (notice.type === "mail")
      return this.deliver(claim, notice.kind === "digest" ? "digest" : "mail", notice.to.join(","), () =>
        this.sendMail(notice),
      );
    if (notice.type === "hook")
      return this.deliver(claim, "webhook", notice.hook, () => this.sendHook(notice));
    throw new Error("a transition is fanned out, not sent");
  }

  /**
   * Transitions become their deliveries: the jobs' reports read in one round trip, and each transition
   * replaced by its deliveries in one step (a stale claim adds nothing). Returns the deliveries' claims.
   */
  private async fanOut(claims: Claimed[]): Promise<Claimed[]> {
    const notices = claims.map((c) => c.notice as TransitionNotice);
    const reports = await readJobReports(this.ctx, notices, this.settings.serverUrl);
    const now = Date.now();
    const transitions = claims.map((claim, i) => ({
      claim,
      next: this.deliveriesOf(claim, reports[i] ?? null, now),
    }));
    const out: Claimed[] = [];
    for (let i = 0; i < transitions.length; i += MAX_PER_CALL)
      out.push(...(await this.outbox.fanOut(transitions.slice(i, i + MAX_PER_CALL))));
    return out;
  }

  /** The mail and webhook deliveries of one transition (none when its job is gone). */
  private deliveriesOf(claim: Claimed, report: JobReport | null, now: number): Notice[] {
    if (report === null) return [];
    const notice = claim.notice as TransitionNotice;
    const next: Notice[] = [];
    if (this.mail !== null && report.mailOn.includes(`,${notice.status},`)) {
      const { valid, invalid } = addressList(report.emailTo);
      if (invalid.length > 0)
        this.log(
          `job ${report.id}: not mailing ${invalid.length} address(es) of its emailTo that mail cannot go to: ${invalid.slice(0, 5).join(" ").slice(0, 200)}`,
        );
      if (valid.length > 0) next.push(jobMail(report, valid, this.settings.smtp?.from ?? "", now));
    }
    for (const hook of this.settings.webhooks) {
      if (hookWants(hook, report))
        next.push(
          hookNotice(hook, report, `${claim.id}-${hook.name}-${randomBytes(4).toString("hex")}`, now),
        );
    }
    return next;
  }

  private async deliver(
    claim: Claimed,
    kind: Outcome["kind"],
    target: string,
    send: () => Promise<void>,
  ): Promise<void> {
    const notice = claim.notice as MailNotice | HookNotice;
    const tries = notice.tries + 1;
    const base = {
      at: Date.now(),
      kind,
      target,
      tries,
      ...(notice.jobId === undefined ? {} : { jobId: notice.jobId }),
    };
    try {
      await send();
    } catch (err) {
      const error = (err as Error).message.slice(0, 300);
      const giveUp =
        Date.now() - notice.at >= this.settings.giveUpMs ||
        (notice.type === "mail" && isPermanentMailError(err));
      this.metrics.notice(
        kind,
        giveUp ? "failed" : "retry",
        notice.type === "hook" ? notice.hook : undefined,
      );
      if (giveUp) {
        this.log(`${kind} to ${target} given up after ${tries} tries: ${error}`);
        await this.end(claim, { ...base, outcome: "failed", error });
        return;
      }
      const wait =
        Math.min(MAX_BACKOFF_MS, this.settings.retryMs * 2 ** (tries - 1)) * (0.9 + Math.random() * 0.2);
      notice.tries = tries;
      await this.outbox.retry(claim, Date.now() + wait, { ...base, outcome: "retry", error });
      return;
    }
    this.metrics.notice(kind, "sent", notice.type === "hook" ? notice.hook : undefined);
    await this.end(claim, { ...base, outcome: "sent" });
  }

  /**
   * Ends a delivery: its outcome is written with those of every delivery that ends in this turn of the event
   * loop, in one call. Resolves once it is written, so a send counts as open until then (stop() waits).
   */
  private end(claim: Claimed, outcome: Outcome): Promise<void> {
    this.ends.push({ claim, outcome });
    this.endsWritten ??= new Promise<void>((r) => setImmediate(r)).then(async () => {
      const ends = this.ends;
      this.ends = [];
      this.endsWritten = null;
      for (let i = 0; i < ends.length; i += MAX_PER_CALL)
        await this.outbox.end(ends.slice(i, i + MAX_PER_CALL));
    });
    return this.endsWritten;
  }

  private async sendMail(notice: MailNotice): Promise<void> {
    if (this.mail === null) throw new Error("no smtp_server is configured");
    await this.mail.send(notice);
  }

  private async sendHook(notice: HookNotice): Promise<void> {
    const hook = this.settings.webhooks.find((h) => h.name === notice.hook);
    if (hook === undefined) throw new Error(`webhook ${notice.hook} is not configured here`);
    await this.hooks.post(hook, notice, this.sendTimeoutMs(HOOK_TIMEOUT_MS));
  }

  /**
   * A send ends (or fails) within half the lease, so no other coordinator claims a notice while it is still
   * being sent here: only a coordinator that died or hung past its lease leaves a notice to be sent again.
   */
  private sendTimeoutMs(limit: number): number {
    return Math.min(limit, this.settings.leaseMs / 2);
  }

  /** Once a period farm-wide: the server errors recorded since the last digest, as one mail to email_to. */
  private async digest(): Promise<void> {
    if (this.mail === null || this.settings.errorTo.length === 0) return;
    const window = (await runScript(this.ctx.redis, this.ctx.keys.prefix, "claimDigest", [
      this.settings.digestMs,
    ])) as string | null;
    if (window === null) return;
    const [since, until] = window.split(":").map(Number) as [number, number];
    const records = (await this.ctx.redis.lrange(this.ctx.keys.serverErrors, 0, DIGEST_ERRORS_READ - 1))
      .map((t) => JSON.parse(t) as { message: string; time: number })
      .filter((e) => e.time > since && e.time <= until);
    if (records.length === 0) return;
    const total = records.length === DIGEST_ERRORS_READ ? `${DIGEST_ERRORS_READ}+` : String(records.length);
    const mail = digestMail(
      records.slice(0, DIGEST_ERRORS_LISTED),
      total,
      this.settings.errorTo,
      this.settings.errorFrom,
      this.settings.serverUrl,
      Date.now(),
    );
    await this.outbox.replace(null, [mail]);
  }

  /** Drops of a full outbox go to the log (of each coordinator that sees the count grow). */
  private async reportDropped(): Promise<void> {
    const dropped = await this.outbox.dropped();
    if (this.droppedSeen !== null && dropped > this.droppedSeen)
      this.log(
        `notice outbox full (openhq.notices.maxOutbox ${this.settings.maxOutbox}): ${dropped - this.droppedSeen} oldest notice(s) dropped`,
      );
    this.droppedSeen = dropped;
  }
}
