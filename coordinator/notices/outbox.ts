// The durable notice outbox in Redis ({p}notices, {p}notices:due, {p}notices:new; store/keys.ts). A job
// transition someone wants to hear of is written by the transition's own Lua step (lua/includes/notices.lua):
// a `transition` notice. A sender claims due notices under a lease (claimNotices.lua), fans transitions out into one
// delivery per recipient (a mail, a webhook; fanOutNotices.lua), each retried on its own, and ends them with
// endNotices.lua (many in one call) or retryNotice.lua. The claim's fencing token (the lease's end) makes a sender whose lease ran out (it hung,
// or another coordinator took over after it died) unable to end or fan out a notice twice.

import type { Redis } from "ioredis";
import type { JobStatus } from "../../shared/statuses.js";
import type { Keys } from "../store/keys.js";
import { runScript } from "../store/lua-scripts.js";

/** Written by the transition (lua/includes/notices.lua). */
export interface TransitionNotice {
  type: "transition";
  jobId: number;
  status: JobStatus;
  from: string;
  at: number;
}

/** One mail to send: built when the transition is fanned out, so each retry sends the same text. */
export interface MailNotice {
  type: "mail";
  /** What it is about, for the metrics and the dashboard: "job" or "digest". */
  kind: "job" | "digest";
  jobId?: number;
  to: string[];
  from: string;
  subject: string;
  text: string;
  at: number;
  tries: number;
}

/** One webhook delivery; the hook's URL and secret are read from the configuration when it is sent. */
export interface HookNotice {
  type: "hook";
  hook: string;
  jobId: number;
  /** The delivery id receivers may de-duplicate on (X-OpenHQ-Delivery). */
  delivery: string;
  body: string;
  at: number;
  tries: number;
}

export type Notice = TransitionNotice | MailNotice | HookNotice;

export interface Claimed {
  id: string;
  token: string;
  notice: Notice;
}

/** A delivery outcome, kept in {p}notices:recent for the dashboard. */
export interface Outcome {
  at: number;
  kind: "mail" | "digest" | "webhook";
  target: string;
  jobId?: number;
  outcome: "sent" | "retry" | "failed";
  error?: string;
  tries: number;
}

export class Outbox {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /** Makes the bound, whether mail is sent and the statuses webhooks want known to the transitions. */
  async configure(maxOutbox: number, mail: boolean, hookStatuses: readonly string[]): Promise<void> {
    // Nothing to send: no key at all, so the transitions find nothing (and the bound's default is unused).
    if (!mail && hookStatuses.length === 0) {
      await this.redis.del(this.keys.noticesOn);
      return;
    }
    const fields: string[] = ["max", String(maxOutbox)];
    if (mail) fields.push("mail", "1");
    for (const s of hookStatuses) fields.push(s, "1");
    await this.redis
      .multi()
      .del(this.keys.noticesOn)
      .hset(this.keys.noticesOn, ...fields)
      .exec();
  }

  async claim(leaseMs: number, max: number): Promise<Claimed[]> {
    const flat = (await this.run("claimNotices", [leaseMs, max])) as string[];
    const out: Claimed[] = [];
    for (let i = 0; i + 2 < flat.length; i += 3) {
      const [id, token, body] = [flat[i] as string, flat[i + 1] as string, flat[i + 2] as string];
      out.push({ id, token, notice: JSON.parse(body) as Notice });
    }
    return out;
  }

  /** Ends a claimed notice and adds `next` in its place; false when the claim was stale. */
  async replace(
    claim: Pick<Claimed, "id" | "token"> | null,
    next: Notice[],
    outcome?: Outcome,
  ): Promise<boolean> {
    const args = [
      claim?.id ?? "",
      claim?.token ?? "",
      outcome === undefined ? "" : JSON.stringify(outcome),
      ...next.map((n) => JSON.stringify(n)),
    ];
    return (await this.run("replaceNotice", args)) === 1;
  }

  /**
   * Ends claimed transitions, each replaced by its deliveries, which stay claimed by this sender under the
   * transition's lease (fanOutNotices.lua): the claims of the deliveries, in order; none for a stale transition.
   */
  async fanOut(transitions: { claim: Pick<Claimed, "id" | "token">; next: Notice[] }[]): Promise<Claimed[]> {
    const args: (string | number)[] = [];
    for (const { claim, next } of transitions)
      args.push(claim.id, claim.token, next.length, ...next.map((n) => JSON.stringify(n)));
    const ids = (await this.run("fanOutNotices", args)) as string[];
    const out: Claimed[] = [];
    let i = 0;
    for (const { claim, next } of transitions)
      for (const notice of next) {
        const id = ids[i++] ?? "";
        if (id !== "") out.push({ id, token: claim.token, notice });
      }
    return out;
  }

  /** Ends claimed deliveries (sent or given up) in one call; a stale claim is left alone. */
  async end(ended: { claim: Pick<Claimed, "id" | "token">; outcome: Outcome }[]): Promise<number> {
    const args: string[] = [];
    for (const { claim, outcome } of ended) args.push(claim.id, claim.token, JSON.stringify(outcome));
    return (await this.run("endNotices", args)) as number;
  }

  async retry(claim: Claimed, dueAt: number, outcome: Outcome): Promise<boolean> {
    const args = [claim.id, claim.token, dueAt, JSON.stringify(claim.notice), JSON.stringify(outcome)];
    return (await this.run("retryNotice", args)) === 1;
  }

  /** Notices dropped because the outbox was full, since the outbox began. */
  async dropped(): Promise<number> {
    return Number((await this.redis.get(this.keys.noticesDropped)) ?? 0);
  }

  /** Notices in the outbox: transitions waiting for a claim, and those claimed, due or retried. */
  async pending(): Promise<number> {
    const [due, waiting] = await Promise.all([
      this.redis.zcard(this.keys.noticesDue),
      this.redis.llen(this.keys.noticesNew),
    ]);
    return due + waiting;
  }

  async recent(count: number): Promise<Outcome[]> {
    const items = await this.redis.lrange(this.keys.noticesRecent, 0, count - 1);
    return items.map((t) => JSON.parse(t) as Outcome);
  }

  private run(name: string, args: (string | number)[]): Promise<unknown> {
    return runScript(this.redis, this.keys.prefix, name, args);
  }
}
