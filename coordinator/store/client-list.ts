// The Clients page's list (web/clients.ts): one page of client ids, filtered by name, state and group and
// sorted, without reading every client's record. The page then reads whole records for its own rows only.
//
// Labels come from {p}clients:byLabel (one HGETALL of label -> id, ~25 bytes a blade), members of a group
// from its set. The default view, by name, needs nothing else. A state filter, or a sort by state, CPUs,
// load, memory or running jobs, asks scanClients.lua (1,000 clients a call) which candidates are in the
// state and for the one sort column; the state is decided in Redis and only matches come back, an id or an
// id and a value each (returning every candidate's nine fields to decide it here cost more than reading
// them). The cost grows with the blades registered (a few ms per thousand), never with jobs.

import type { Redis } from "ioredis";
import type { ClientState } from "../../shared/client-state.js";
import { notRespondingAfterMs } from "../liveness.js";
import type { Keys } from "./keys.js";
import { runScript } from "./lua-scripts.js";

export const CLIENT_SORTS = ["name", "state", "cpus", "load", "memory", "jobs"] as const;
export type ClientSort = (typeof CLIENT_SORTS)[number];

/** Clients per scanClients.lua call (a few ms of Redis). */
const CHUNK = 1000;

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
  /** what the sort compares: the lower-cased label, or the scanned column's value */
  key: number | string;
}

/** A scanned column's value as the sort compares it (an absent field is 0; a client without CPUs has 1). */
function sortValue(sort: ClientSort, value: string | number | null): number | string {
  if (sort === "state") return String(value);
  const n = Number(value ?? 0) || 0;
  return sort === "cpus" ? n || 1 : n;
}

/**
 * One column (scanClients.lua: state, cpus, load, memory, jobs, lastHeartbeat; null for an absent field) of
 * each of `ids` that is registered and in `state` ("" = any), decided in Redis, CHUNK clients a call, sent
 * together. `now` decides which clients respond (coordinator/liveness.ts).
 */
export async function scanColumn(
  redis: Redis,
  keys: Keys,
  ids: readonly number[],
  now: number,
  heartbeatIntervalMs: number,
  state: string,
  column: string,
): Promise<Map<number, string | number | null>> {
  const respondingSince = now - notRespondingAfterMs(heartbeatIntervalMs);
  const chunks: Promise<unknown>[] = [];
  for (let start = 0; start < ids.length; start += CHUNK)
    chunks.push(
      runScript(redis, keys.prefix, "scanClients", [
        respondingSince,
        state,
        column,
        ...ids.slice(start, start + CHUNK),
      ]),
    );
  const out = new Map<number, string | number | null>();
  for (const reply of await Promise.all(chunks)) {
    const v = reply as (string | number | null)[];
    for (let at = 0; at < v.length; at += 2) out.set(Number(v[at]), v[at + 1] ?? null);
  }
  return out;
}

/**
 * The state (shared/client-state.ts) of each of `ids` that is registered, decided in Redis by scanClients.lua:
 * what a waiting reason counts of a group's members, and /metrics and the Farm page of every client.
 */
export async function clientStates(
  redis: Redis,
  keys: Keys,
  ids: readonly number[],
  now: number,
  heartbeatIntervalMs: number,
): Promise<Map<number, ClientState>> {
  return (await scanColumn(redis, keys, ids, now, heartbeatIntervalMs, "", "state")) as Map<
    number,
    ClientState
  >;
}

/** Client id -> label, from {p}clients:byLabel (one HGETALL). */
export async function clientLabelsById(redis: Redis, keys: Keys): Promise<Map<number, string>> {
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
    clientLabelsById(redis, keys),
  ]);
  const needle = q.name.toLowerCase();
  let rows: Row[] = [];
  for (const member of members) {
    const id = Number(member);
    const label = names.get(id)?.toLowerCase();
    // A member without a label is a removed client (a group keeps listing it until it is cleaned up).
    if (label !== undefined && (needle === "" || label.includes(needle))) rows.push({ id, key: label });
  }
  if (q.state !== "" || q.sort !== "name") {
    const byId = new Map(rows.map((r) => [r.id, r]));
    const column = q.sort === "name" ? "" : q.sort;
    const stride = column === "" ? 1 : 2;
    const kept: Row[] = [];
    // The chunks go out together: Redis runs them one after the other, without a round trip between.
    const chunks: Promise<unknown>[] = [];
    const respondingSince = now - notRespondingAfterMs(heartbeatIntervalMs);
    for (let start = 0; start < rows.length; start += CHUNK)
      chunks.push(
        runScript(redis, keys.prefix, "scanClients", [
          respondingSince,
          q.state,
          column,
          ...rows.slice(start, start + CHUNK).map((r) => r.id),
        ]),
      );
    for (const reply of await Promise.all(chunks)) {
      const v = reply as (string | number | null)[];
      for (let at = 0; at < v.length; at += stride) {
        const row = byId.get(Number(v[at])) as Row;
        if (column !== "") row.key = sortValue(q.sort, v[at + 1] ?? null);
        kept.push(row);
      }
    }
    rows = kept;
  }
  const sign = q.desc ? -1 : 1;
  rows.sort((a, b) => {
    const x = a.key;
    const y = b.key;
    const c = typeof x === "number" && typeof y === "number" ? x - y : x < y ? -1 : x > y ? 1 : 0;
    return c !== 0 ? c * sign : a.id - b.id;
  });
  return {
    ids: rows.slice(q.offset, q.offset + q.count).map((r) => r.id),
    total: rows.length,
    registered,
  };
}
