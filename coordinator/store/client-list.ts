// The Clients page's list (web/clients.ts): one page of client ids, filtered by name, state and group and
// sorted, without reading every client's record. The page then reads whole records for its own rows only.
//
// Labels come from {p}clients:byLabel (one HGETALL of label -> id, ~25 bytes a blade), members of a group
// from its set. The default view, by name, needs nothing else. A state filter, or a sort by state, CPUs,
// load, memory or running jobs, reads those few fields of each candidate in Redis, scanClients.lua 1,000
// clients a call: the cost grows with the blades registered (a few ms per thousand), never with jobs.

import type { Redis } from "ioredis";
import { clientState, type ClientState } from "../../shared/client-state.js";
import { isResponding } from "../liveness.js";
import type { Keys } from "./keys.js";
import { runScript } from "./lua-scripts.js";

export const CLIENT_SORTS = ["name", "state", "cpus", "load", "memory", "jobs"] as const;
export type ClientSort = (typeof CLIENT_SORTS)[number];

/** Clients per scanClients.lua call (a few ms of Redis). */
const CHUNK = 1000;
/** Values per client in a scanClients reply. */
const STRIDE = 10;

export interface ClientListQuery {
  /** case-insensitive "contains" on the label; "" = any */
  name: string;
  /** a CLIENT_STATES entry; "" = any */
  state: string;
  /** members of this group only; null = any (a group that does not exist: pass -1, nothing matches) */
  groupId: number | null;
  sort: ClientSort;
  desc: boolean;
  offset: number;
  count: number;
}

export interface ClientListPage {
  ids: number[];
  /** clients that match */
  total: number;
  /** clients registered */
  registered: number;
}

interface Row {
  id: number;
  label: string;
  state?: ClientState;
  key?: number | string;
}

/** What a scanClients entry says: the state (shared/client-state.ts) and the numeric sort columns. */
function scanned(v: (string | number | null)[], at: number, now: number, heartbeatIntervalMs: number) {
  const text = (k: number) => (v[at + k] === null ? undefined : String(v[at + k]));
  const num = (k: number) => Number(text(k) ?? 0) || 0;
  const responding = isResponding(
    { connected: text(4) === "1", lastHeartbeat: num(5) },
    now,
    heartbeatIntervalMs,
  );
  const jobs = num(9);
  const state = clientState({
    responding,
    disabled: text(1) === "1",
    quarantined: num(3) > now,
    available: text(2) !== "0" && responding,
    runningJobs: Array.from({ length: jobs }, () => 0),
  });
  return { state, cpus: num(6) || 1, load: num(7), memory: num(8), jobs };
}

async function labels(redis: Redis, keys: Keys): Promise<Map<number, string>> {
  const byLabel = await redis.hgetall(keys.clientsByLabel);
  const out = new Map<number, string>();
  for (const [label, id] of Object.entries(byLabel)) out.set(Number(id), label);
  return out;
}

/** One page of the Clients list. */
export async function listClients(
  redis: Redis,
  keys: Keys,
  q: ClientListQuery,
  now: number,
  heartbeatIntervalMs: number,
): Promise<ClientListPage> {
  const [registered, members, names] = await Promise.all([
    redis.zcard(keys.clients),
    q.groupId === null ? redis.zrange(keys.clients, "0", "-1") : redis.smembers(keys.groupClients(q.groupId)),
    labels(redis, keys),
  ]);
  const needle = q.name.toLowerCase();
  let rows: Row[] = [];
  for (const member of members) {
    const id = Number(member);
    const label = names.get(id);
    // A member without a label is a removed client (a group keeps listing it until it is cleaned up).
    if (label !== undefined && (needle === "" || label.toLowerCase().includes(needle)))
      rows.push({ id, label });
  }
  if (q.state !== "" || q.sort !== "name") {
    const byId = new Map(rows.map((r) => [r.id, r]));
    const kept: Row[] = [];
    // The chunks go out together: Redis runs them one after the other, without a round trip between.
    const chunks: Promise<unknown>[] = [];
    for (let start = 0; start < rows.length; start += CHUNK)
      chunks.push(
        runScript(
          redis,
          keys.prefix,
          "scanClients",
          rows.slice(start, start + CHUNK).map((r) => r.id),
        ),
      );
    for (const reply of await Promise.all(chunks)) {
      const v = reply as (string | number | null)[];
      for (let at = 0; at < v.length; at += STRIDE) {
        const row = byId.get(Number(v[at])) as Row;
        const s = scanned(v, at, now, heartbeatIntervalMs);
        if (q.state !== "" && s.state !== q.state) continue;
        row.state = s.state;
        row.key = q.sort === "name" ? undefined : q.sort === "state" ? s.state : s[q.sort];
        kept.push(row);
      }
    }
    rows = kept;
  }
  const sign = q.desc ? -1 : 1;
  const keyOf = (r: Row) => r.key ?? r.label.toLowerCase();
  rows.sort((a, b) => {
    const x = keyOf(a);
    const y = keyOf(b);
    const c = typeof x === "number" && typeof y === "number" ? x - y : x < y ? -1 : x > y ? 1 : 0;
    return c !== 0 ? c * sign : a.id - b.id;
  });
  return {
    ids: rows.slice(q.offset, q.offset + q.count).map((r) => r.id),
    total: rows.length,
    registered,
  };
}
