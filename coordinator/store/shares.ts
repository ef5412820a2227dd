// Shares in Redis ({p}shares, {p}shares:users, {p}shares:settings; the running-slot counters
// {p}shares:running and {p}users:running are kept by the Lua transitions, lua/includes/shares.lua). Every
// coordinator writes the shares of its hqserver.ini at start; setShare / removeShare change them at run
// time; a {"type":"shares"} notice tells every dispatcher to read them again.

import type { Context } from "../context.js";
import { DEFAULT_SHARE, type ShareDef, type SharesConfig } from "../shares.js";

export interface ShareState {
  defs: Map<string, ShareDef>;
  users: Map<string, string>;
  byUser: boolean;
  userCap: number;
  /** CPU slots of the registered clients, sampled by the scheduler's maintenance (for burst in %). */
  farmSlots: number;
}

export interface RunningSlots {
  shares: Map<string, number>;
  users: Map<string, number>;
}

function parseDef(json: string): ShareDef {
  try {
    return { ...DEFAULT_SHARE, ...(JSON.parse(json) as Partial<ShareDef>) };
  } catch {
    return { ...DEFAULT_SHARE };
  }
}

/** Writes the ini's shares (replacing those of the same name) and the farm-wide settings. */
export async function writeSharesConfig(ctx: Context, config: SharesConfig): Promise<void> {
  const m = ctx.redis.multi();
  for (const [name, def] of Object.entries(config.shares)) m.hset(ctx.keys.shares, name, JSON.stringify(def));
  for (const [user, share] of Object.entries(config.users)) m.hset(ctx.keys.sharesUsers, user, share);
  m.hset(ctx.keys.sharesSettings, "byUser", config.byUser ? "1" : "0", "userCap", config.userCap);
  m.publish(ctx.keys.eventsChannel, '{"type":"shares"}');
  await m.exec();
}

export async function readShareState(ctx: Context): Promise<ShareState> {
  const [defs, users, settings] = await Promise.all([
    ctx.redis.hgetall(ctx.keys.shares),
    ctx.redis.hgetall(ctx.keys.sharesUsers),
    ctx.redis.hgetall(ctx.keys.sharesSettings),
  ]);
  return {
    defs: new Map(Object.entries(defs).map(([name, json]) => [name, parseDef(json)])),
    users: new Map(Object.entries(users)),
    byUser: settings["byUser"] === "1",
    userCap: Number(settings["userCap"] ?? 0) || 0,
    farmSlots: Number(settings["farmSlots"] ?? 0) || 0,
  };
}

/** The running-slot counters, in one round trip (a field per share and per user with running work). */
export async function readRunningSlots(ctx: Context): Promise<RunningSlots> {
  const [shares, users] = await Promise.all([
    ctx.redis.hgetall(ctx.keys.sharesRunning),
    ctx.redis.hgetall(ctx.keys.usersRunning),
  ]);
  const toMap = (h: Record<string, string>) =>
    new Map(Object.entries(h).map(([k, v]) => [k, Math.max(0, Number(v) || 0)]));
  return { shares: toMap(shares), users: toMap(users) };
}

/**
 * The users whose jobs run now and the CPU slots those hold, most first, at most `limit`, and how many more
 * users have something running (the hash holds only users with something running: it never grows with idle
 * users or finished jobs).
 */
export async function runningByUser(
  ctx: Context,
  limit: number,
): Promise<{ users: { user: string; slots: number }[]; more: number }> {
  const { users } = await readRunningSlots(ctx);
  const running = [...users]
    .filter(([, slots]) => slots > 0)
    .map(([user, slots]) => ({ user, slots }))
    .sort((a, b) => b.slots - a.slots || a.user.localeCompare(b.user));
  return { users: running.slice(0, limit), more: Math.max(0, running.length - limit) };
}

/** Whether an admin configured shares (anything but an unconfigured `default`). */
export function sharesConfigured(rows: readonly ShareRow[]): boolean {
  return rows.some(
    (r) =>
      r.name !== "default" ||
      r.weight !== DEFAULT_SHARE.weight ||
      r.guarantee !== DEFAULT_SHARE.guarantee ||
      r.burst !== "",
  );
}

/** Creates or changes a share (and the users it takes, when given), and tells every dispatcher. */
export async function putShare(ctx: Context, name: string, def: ShareDef, users?: string[]): Promise<void> {
  const m = ctx.redis.multi();
  m.hset(ctx.keys.shares, name, JSON.stringify(def));
  for (const user of users ?? []) m.hset(ctx.keys.sharesUsers, user, name);
  m.publish(ctx.keys.eventsChannel, '{"type":"shares"}');
  await m.exec();
}

/** Removes a share and the users mapped to it; its queued jobs keep their share name and run as its caps allow. */
export async function deleteShare(ctx: Context, name: string, users: string[]): Promise<boolean> {
  const m = ctx.redis.multi();
  m.hdel(ctx.keys.shares, name);
  if (users.length > 0) m.hdel(ctx.keys.sharesUsers, ...users);
  m.publish(ctx.keys.eventsChannel, '{"type":"shares"}');
  const replies = await m.exec();
  return Number(replies?.[0]?.[1] ?? 0) === 1;
}

/** The farm's CPU slots, for a burst given in % (lua/includes/shares.lua). */
export async function writeFarmSlots(ctx: Context, slots: number): Promise<void> {
  await ctx.redis.hset(ctx.keys.sharesSettings, "farmSlots", slots);
}

/** One share as getShares, /metrics and the dashboard show it. */
export interface ShareRow {
  name: string;
  weight: number;
  guarantee: number;
  /** "" for none, "N" slots or "N%". */
  burst: string;
  /** The burst maximum in slots now (a % resolved against the farm), null for none. */
  burstSlots: number | null;
  running: number;
  users: string[];
}

/**
 * Every configured share, `default` and any share with running work, by name: the definitions and counters
 * (a read of five small hashes, whatever the queue holds).
 */
export async function shareRows(ctx: Context): Promise<ShareRow[]> {
  const [state, running] = await Promise.all([readShareState(ctx), readRunningSlots(ctx)]);
  const names = new Set(["default", ...state.defs.keys(), ...running.shares.keys()]);
  const usersOf = new Map<string, string[]>();
  for (const [user, share] of state.users) usersOf.set(share, [...(usersOf.get(share) ?? []), user]);
  return [...names].sort().map((name) => {
    const def = state.defs.get(name) ?? DEFAULT_SHARE;
    let burstSlots: number | null = def.burst > 0 ? def.burst : null;
    if (def.burstPct > 0 && state.farmSlots > 0) {
      const pct = Math.floor((def.burstPct * state.farmSlots) / 100);
      burstSlots = burstSlots === null ? pct : Math.min(pct, burstSlots);
    }
    return {
      name,
      weight: def.weight,
      guarantee: def.guarantee,
      burst: def.burstPct > 0 ? `${def.burstPct}%` : def.burst > 0 ? String(def.burst) : "",
      burstSlots,
      running: running.shares.get(name) ?? 0,
      users: (usersOf.get(name) ?? []).sort(),
    };
  });
}
