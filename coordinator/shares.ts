// Shares (docs/ADMIN.md "Shares and running limits"): what a share is, how hqserver.ini names them, and the
// bounds every share definition meets, whether it comes from the ini file or from the setShare API.
//
//   [openhq.share.lighting]          ; or openhq.share.lighting.weight = 2 in any section
//   weight = 2                       ; its fair share against the other busy shares (default 1)
//   guarantee = 40                   ; CPU slots it gets before shares above their own guarantee (default 0)
//   burst = 80%                      ; the most slots it may hold: slots, or % of the farm (default none)
//   users = alice, bob               ; submittedBy names whose jobs go here when the job names no share
//
// With no share configured dispatch is HQueue's: priority, then submission order.

import { ConfigError } from "../shared/config-loader.js";

export interface ShareDef {
  weight: number;
  /** Slots the share gets before any share above its own guarantee. */
  guarantee: number;
  /** Most slots the share may hold; 0 = no cap in slots. */
  burst: number;
  /** Most slots as a percentage of the farm's CPU slots; 0 = no cap in %. */
  burstPct: number;
}

export interface SharesConfig {
  shares: Record<string, ShareDef>;
  /** submittedBy -> share, for jobs that name no share. */
  users: Record<string, string>;
  /** openhq.fairShare = user: within a share, users get equal slots too. */
  byUser: boolean;
  /** openhq.maxRunningPerUser: CPU slots one submittedBy may hold at once; 0 = none. */
  userCap: number;
}

export const SHARE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
export const MAX_SHARES = 1000;
const MAX_WEIGHT = 1_000_000;
const MAX_SLOTS = 10_000_000;
const SHARE_KEY = /^openhq\.share\.([^.]+)\.(weight|guarantee|burst|users)$/;

export const DEFAULT_SHARE: ShareDef = { weight: 1, guarantee: 0, burst: 0, burstPct: 0 };

/** Checks one share definition (from the API: each field optional, the rest from `base`). */
export function shareDef(
  fields: { weight?: unknown; guarantee?: unknown; burst?: unknown },
  base: ShareDef = DEFAULT_SHARE,
): ShareDef | string {
  const out = { ...base };
  if (fields.weight !== undefined) {
    const w = Number(fields.weight);
    if (!Number.isFinite(w) || w <= 0 || w > MAX_WEIGHT)
      return `weight: expected a number above 0, at most ${MAX_WEIGHT}`;
    out.weight = w;
  }
  if (fields.guarantee !== undefined) {
    const g = Number(fields.guarantee);
    if (!Number.isInteger(g) || g < 0 || g > MAX_SLOTS) return `guarantee: expected 0 to ${MAX_SLOTS} slots`;
    out.guarantee = g;
  }
  if (fields.burst !== undefined) {
    const text = String(fields.burst).trim();
    const pct = /^(\d+(?:\.\d+)?)\s*%$/.exec(text);
    if (pct) {
      const p = Number(pct[1]);
      if (p <= 0 || p > 100) return "burst: expected a percentage above 0, at most 100";
      out.burst = 0;
      out.burstPct = p;
    } else {
      const n = text === "" ? 0 : Number(text);
      if (!Number.isInteger(n) || n < 0 || n > MAX_SLOTS)
        return `burst: expected 0 (none) to ${MAX_SLOTS} slots, or a percentage of the farm ("80%")`;
      out.burst = n;
      out.burstPct = 0;
    }
  }
  return out;
}

/** The shares of hqserver.ini (its keys flattened as config.ts does). Bad ones are a ConfigError naming the key. */
export function sharesFromIni(raw: Record<string, string>, byUser: boolean, userCap: number): SharesConfig {
  const given = new Map<string, Record<string, string>>();
  for (const [key, value] of Object.entries(raw)) {
    const m = SHARE_KEY.exec(key);
    if (!m) continue;
    const [, name = "", field = ""] = m;
    if (!SHARE_NAME.test(name))
      throw new ConfigError(`${key}: a share name is letters, digits, _ . - (at most 64)`, key);
    given.set(name, { ...given.get(name), [field]: value });
  }
  if (given.size > MAX_SHARES)
    throw new ConfigError(`openhq.share.*: at most ${MAX_SHARES} shares`, "openhq.share");
  const shares: Record<string, ShareDef> = {};
  const users: Record<string, string> = {};
  for (const [name, fields] of given) {
    const def = shareDef(fields);
    if (typeof def === "string") {
      const field = def.slice(0, def.indexOf(":"));
      throw new ConfigError(`openhq.share.${name}.${def}`, `openhq.share.${name}.${field}`);
    }
    shares[name] = def;
    for (const user of (fields["users"] ?? "").split(/[\s,]+/).filter(Boolean)) {
      if (users[user] !== undefined && users[user] !== name)
        throw new ConfigError(
          `openhq.share.${name}.users: ${user} is in share ${users[user]} already`,
          `openhq.share.${name}.users`,
        );
      users[user] = name;
    }
  }
  return { shares, users, byUser, userCap };
}
