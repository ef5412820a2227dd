// Job conditions (docs/COMPAT.md §3): {"type": "client", "name": N, "op": OP, "value": V}. A client must satisfy
// every condition of a job. Names: hostname, hostname:name, group, os, and openhq's GPU names gpus (count),
// gpuMemory (MB of its largest GPU) and gpuModel. Ops: ==, !=, in, not_in, any (= in); the numeric GPU names
// also take <, <=, >, >=. List values come separated by commas, semicolons or whitespace, depending on the
// submitter; gpuModel's only by commas or semicolons (models have spaces), each matching the models that
// contain it, case-insensitively ("A6000", "rtx 4090").

import type { GpuDevice } from "../../shared/protocol.js";
import { jsonList } from "../store/stored-json.js";

export interface Condition {
  type?: string;
  name: string;
  op: string;
  value: string;
}

/** What a condition can look at on a client. */
export interface ClientFacts {
  hostname: string;
  name: string;
  /** linux | windows | macosx */
  os: string;
  /** Group names and group ids (as strings) the client belongs to. */
  groups: ReadonlySet<string>;
  /** The client's GPUs; absent = none. */
  gpuDevices?: readonly GpuDevice[];
}

/** The groups of a client in none (shared: a group set is never changed, only replaced). */
export const NO_GROUPS: ReadonlySet<string> = new Set<string>();

/** Whether two clients' group sets hold the same names and ids. */
export function sameGroups(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a === b) return true;
  if (a.size !== b.size) return false;
  for (const g of a) if (!b.has(g)) return false;
  return true;
}

/** Condition names whose values are numbers: they take the comparison ops too. */
export const NUMERIC_NAMES: ReadonlySet<string> = new Set(["gpus", "gpuMemory"]);
export const COMPARISON_OPS: ReadonlySet<string> = new Set(["<", "<=", ">", ">="]);

export function splitValues(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(splitValues);
  if (value === null || value === undefined) return [];
  return String(value)
    .split(/[,;\s]+/)
    .filter((v) => v !== "");
}

/** The values of the client that a condition name refers to. */
function clientValues(client: ClientFacts, name: string): string[] {
  switch (name) {
    case "hostname":
      // The host/hostgroup shortcuts put client names here, and a name may carry the agent's name.
      return [client.hostname, `${client.hostname}:${client.name}`];
    case "hostname:name":
      // As savePermittedClientsList's entries: "host" is any client on that host, "host:" only the one with
      // the empty name, "host:name" that client.
      return [client.hostname, `${client.hostname}:${client.name}`];
    case "group":
      return [...client.groups];
    case "os":
      return [client.os];
    case "gpus":
      return [String(client.gpuDevices?.length ?? 0)];
    case "gpuMemory":
      return [String(Math.max(0, ...(client.gpuDevices ?? []).map((d) => d.memory)))];
    default:
      return [];
  }
}

/** Parsed value lists, lowercased: a permitted list can hold 200,000 labels, split once, not per client. */
const wantedCache = new Map<string, ReadonlySet<string>>();
const MAX_WANTED = 1000;

function wanted(value: string): ReadonlySet<string> {
  let set = wantedCache.get(value);
  if (!set) {
    set = new Set(splitValues(value).map((v) => v.toLowerCase()));
    if (wantedCache.size >= MAX_WANTED) wantedCache.clear();
    wantedCache.set(value, set);
  }
  return set;
}

/** A gpuModel condition's models, each a case-insensitive part of a model name. */
function modelHit(client: ClientFacts, value: string): boolean {
  const parts = value
    .split(/[,;]+/)
    .map((v) => v.trim().toLowerCase())
    .filter((v) => v !== "");
  return (client.gpuDevices ?? []).some((d) => parts.some((p) => d.model.toLowerCase().includes(p)));
}

function compare(have: number, op: string, want: number): boolean {
  if (!Number.isFinite(want)) return false;
  if (op === "<") return have < want;
  if (op === "<=") return have <= want;
  if (op === ">") return have > want;
  return have >= want;
}

export function satisfies(client: ClientFacts, condition: Condition): boolean {
  if (condition.type !== undefined && condition.type !== "client") return true;
  if (COMPARISON_OPS.has(condition.op)) {
    if (!NUMERIC_NAMES.has(condition.name)) return false;
    const have = Number(clientValues(client, condition.name)[0]);
    return compare(have, condition.op, Number(condition.value.trim()));
  }
  const want = wanted(condition.value);
  const hit =
    condition.name === "gpuModel"
      ? modelHit(client, condition.value)
      : clientValues(client, condition.name).some((v) => want.has(v.toLowerCase()));
  switch (condition.op) {
    case "==":
    case "in":
    case "any":
      return hit;
    case "!=":
    case "not_in":
      return !hit;
    default:
      // An op we do not know can never be satisfied: better a job that waits visibly than one on a wrong host.
      return false;
  }
}

export function satisfiesAll(client: ClientFacts, conditions: readonly Condition[]): boolean {
  return conditions.every((c) => satisfies(client, c));
}

/** Parses the stored JSON of a job's conditions; anything malformed counts as "no conditions". */
export function parseConditions(json: string | null | undefined): Condition[] {
  return jsonList(json).flatMap((c: unknown) => {
    if (typeof c !== "object" || c === null) return [];
    const r = c as Record<string, unknown>;
    if (typeof r.name !== "string" || typeof r.op !== "string") return [];
    return [
      {
        type: typeof r.type === "string" ? r.type : undefined,
        name: r.name,
        op: r.op,
        value: Array.isArray(r.value) ? r.value.join(",") : String(r.value ?? ""),
      },
    ];
  });
}
