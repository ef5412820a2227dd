// Waiting reasons for the whole queue without scanning it. Whether any registered client could ever run a
// job (cpus, platform, conditions) is the same for every job of its requirement class, so each maintenance
// round judges the classes it walks in {p}queue:heads and remembers the verdict. A class whose verdict is
// new here or changed gets its jobs walked ({p}queue:class:{cls}, in score order, resuming next round) and
// marked with setWaiting (or unmarked where marked), a bounded number of jobs a round. setWaiting writes the
// same fields for the same verdict, so coordinators sharing Redis may walk one class at once.

import { DISPATCH_DEFAULTS, type Context } from "../context.js";
import type { Scripts } from "../store/dispatch-scripts.js";
import { readJobFields } from "../store/job-fields.js";
import { classHeads, classPages } from "../store/queue.js";
import { readJobInfos, type JobInfo } from "./job-info.js";
import { blockedReason, reasonFor, REASON_FIELDS, type RegisteredClient } from "./waiting.js";
import { isBlockedText } from "./waiting-reasons.js";

/** Cap on remembered classes; past it both maps are dropped and every class is judged afresh. */
const MAX_CLASSES = 100_000;

export class ClassReasons {
  /** What the jobs of each class need, learned from its head job. */
  private readonly templates = new Map<string, JobInfo>();
  /** Per class: why no registered client could ever run its jobs (blockedReason), or null when one could. */
  private readonly verdicts = new Map<string, string | null>();
  /** Classes whose jobs are being brought to their verdict: where the walk resumes (a ZRANGEBYSCORE bound). */
  private readonly walks = new Map<string, string>();

  constructor(
    private readonly ctx: Context,
    private readonly scripts: Scripts,
    /** Jobs walked per round, over all classes being walked (openhq.dispatch.reasonsWalk). */
    private readonly walkJobs = (ctx.settings.dispatch ?? DISPATCH_DEFAULTS).reasonsWalk,
  ) {}

  /** Judges `classes` against the registered clients, then walks up to `walkJobs` jobs of changed classes. */
  async round(classes: readonly string[], clients: readonly RegisteredClient[]): Promise<void> {
    // No client registered yet (a farm starting): every class would be marked now and cleared again as the
    // agents come, so verdicts wait for the first client.
    if (clients.length > 0) await this.judge(classes, clients);
    await this.walk();
  }

  private async judge(classes: readonly string[], clients: readonly RegisteredClient[]): Promise<void> {
    if (this.verdicts.size + classes.length > MAX_CLASSES) {
      this.templates.clear();
      this.verdicts.clear();
    }
    await this.learn(classes.filter((cls) => !this.templates.has(cls)));
    for (const cls of classes) {
      const template = this.templates.get(cls);
      if (!template) continue;
      const blocked = blockedReason(template, clients);
      if (this.verdicts.get(cls) === blocked) continue;
      this.verdicts.set(cls, blocked);
      // A change during a walk starts it over: the jobs already walked carry the old verdict.
      this.walks.delete(cls);
      this.walks.set(cls, "-inf");
    }
  }

  private async learn(fresh: string[]): Promise<void> {
    if (fresh.length === 0) return;
    const heads = await classHeads(this.ctx, fresh);
    const infos = await readJobInfos(
      this.ctx,
      heads.filter((id) => id > 0),
    );
    for (const info of infos) if (info && info.cls !== "") this.templates.set(info.cls, info);
  }

  private async walk(): Promise<void> {
    let budget = this.walkJobs;
    for (const [cls, from] of [...this.walks]) {
      if (budget <= 0) break;
      const blocked = this.verdicts.get(cls);
      const count = budget;
      const [flat = []] = await classPages(this.ctx, [{ cls, from, count }]);
      const ids: number[] = [];
      for (let k = 0; k < flat.length; k += 2) ids.push(Number(flat[k]));
      // An emptied class still costs a read: count it, so a round reads a bounded number of classes.
      budget -= Math.max(1, ids.length);
      if (ids.length === 0 || blocked === undefined) {
        this.walks.delete(cls);
        continue;
      }
      await this.bring(ids, blocked);
      if (ids.length < count) this.walks.delete(cls);
      else this.walks.set(cls, `(${flat[flat.length - 1]}`);
    }
  }

  /** Gives the jobs `ids` (all of one class) the reason for `blocked`, writing only where it differs. */
  private async bring(ids: number[], blocked: string | null): Promise<void> {
    const current = await readJobFields(this.ctx, ids, REASON_FIELDS);
    const writes: Promise<unknown>[] = [];
    ids.forEach((id, i) => {
      const fields = current[i] ?? null;
      // A runnable job that was never marked blocked keeps whatever it says: the head sweep words the
      // reasons of the jobs next in line, and writing every job of the queue here would only be churn.
      if (blocked === null && fields?.[1] !== "1" && !isBlockedText(fields?.[0])) return;
      const text = reasonFor(blocked, fields);
      if (text !== null) writes.push(this.scripts.run("setWaiting", id, text, blocked !== null ? 1 : 0));
    });
    await Promise.all(writes);
  }
}
