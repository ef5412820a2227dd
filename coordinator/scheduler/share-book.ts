// The dispatcher's view of the shares (coordinator/shares.ts): their definitions, and the running slots
// each share and user holds, read once a pass from the counters the Lua transitions keep and raised here as
// the pass proposes work. It orders jobs of equal priority by how far their share is below its weighted
// fair share, and keeps a share or user at its cap out of the pass. Redis (moveToAssigned.lua) re-checks
// every cap, so a stale view costs a refused proposal, never a broken limit.

import { DEFAULT_SHARE, type ShareDef } from "../shares.js";
import type { RunningSlots, ShareState } from "../store/shares.js";
import type { CapRefusal } from "./waiting-reasons.js";

const QUEUE_SHIFT = 2 ** 32;

/** A queue score's priority band: equal for jobs of one priority (store/keys.ts, the queue's score). */
export function band(score: number): number {
  return Math.floor(score / QUEUE_SHIFT);
}

export interface ShareKey {
  share: string;
  user: string | null;
}

export class ShareBook {
  private state: ShareState = { defs: new Map(), users: new Map(), byUser: false, userCap: 0, farmSlots: 0 };
  private running: RunningSlots = { shares: new Map(), users: new Map() };

  /** Shares change the order of dispatch only when some share is configured, or users share fairly. */
  get ordering(): boolean {
    return this.state.defs.size > 0 || this.state.byUser;
  }

  /** Some cap may hold work back: a pass leaves capped shares and users out. */
  get capping(): boolean {
    return this.state.defs.size > 0 || this.state.userCap > 0;
  }

  setState(state: ShareState): void {
    this.state = state;
  }

  setRunning(running: RunningSlots): void {
    this.running = running;
  }

  private def(share: string): ShareDef {
    return this.state.defs.get(share) ?? DEFAULT_SHARE;
  }

  private slotsOf(share: string): number {
    return this.running.shares.get(share) ?? 0;
  }

  /** The share's burst maximum in slots, null for none (as lua/includes/shares.lua burstLimit). */
  burstLimit(share: string): number | null {
    const def = this.state.defs.get(share);
    if (!def) return null;
    let limit: number | null = def.burst > 0 ? def.burst : null;
    if (def.burstPct > 0 && this.state.farmSlots > 0) {
      const pct = Math.floor((def.burstPct * this.state.farmSlots) / 100);
      if (limit === null || pct < limit) limit = pct;
    }
    return limit;
  }

  /**
   * Which cap holds back a run of `slots` more (its share's burst maximum, its user's cap), checked in the
   * order of lua/includes/shares.lua capRefusal, or null.
   */
  capRefusal(key: ShareKey, slots: number): CapRefusal | null {
    const limit = this.burstLimit(key.share);
    const running = this.slotsOf(key.share);
    if (limit !== null && running + slots > limit) return { kind: "burst", share: key.share, running, limit };
    const cap = this.state.userCap;
    if (cap <= 0 || key.user === null) return null;
    const used = this.running.users.get(key.user) ?? 0;
    return used + slots > cap ? { kind: "user", user: key.user, running: used, limit: cap } : null;
  }

  /**
   * Negative when a job of `a` should go before one of `b` at equal priority: a share below its guarantee
   * before shares at or above theirs (the one furthest below first), then the share with the fewest running
   * slots per unit of weight (furthest below its weighted fair share), then, with fair share between users,
   * the user with the fewest running slots. Zero: submission order decides.
   */
  compare(a: ShareKey, b: ShareKey): number {
    if (a.share !== b.share) {
      const ra = this.slotsOf(a.share);
      const rb = this.slotsOf(b.share);
      const da = this.def(a.share);
      const db = this.def(b.share);
      const ta = ra < da.guarantee ? 0 : 1;
      const tb = rb < db.guarantee ? 0 : 1;
      if (ta !== tb) return ta - tb;
      const fa = ta === 0 ? ra / da.guarantee : ra / da.weight;
      const fb = tb === 0 ? rb / db.guarantee : rb / db.weight;
      if (fa !== fb) return fa - fb;
    }
    if (this.state.byUser && a.user !== b.user)
      return (this.running.users.get(a.user ?? "") ?? 0) - (this.running.users.get(b.user ?? "") ?? 0);
    return 0;
  }

  /** The pass proposed a run of `slots`: count it until the next pass reads the counters again. */
  hold(key: ShareKey, slots: number): void {
    this.running.shares.set(key.share, this.slotsOf(key.share) + slots);
    if (key.user !== null) this.running.users.set(key.user, (this.running.users.get(key.user) ?? 0) + slots);
  }
}
