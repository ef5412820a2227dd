// The clients API: getClients, getClient, getClientByName, getClientsByName, the deprecated
// getClientByHostname / getClientsByHostname, setdisabled, getJobIdsAssignedToClient, getJobHistory,
// upgradeClients, and the extensions setAvailabilityRules(client, rules) and removeClients(client_ids) (admin:
// machines out of the farm for good, coordinator/link/removal.ts). Attributes are the reference's
// (docs/COMPAT.md §7) plus openhq's own: os, arch, connected, disconnectedSince, responding, freeMemory,
// terminated, quarantined.
// Changes that an agent or a scheduler must hear about go out on `{p}control:{clientId}`, so they reach the
// agent whichever coordinator holds its link. This module only coerces arguments and shapes replies; the
// records live in coordinator/store/clients.ts.

import { clockExpected, clockMinutes, isWeekday, type WindowEnd } from "../../shared/availability.js";
import type { AvailabilityRule } from "../../shared/protocol.js";
import { Fault, FaultCode, isStruct, type Methods, type XmlRpcValue } from "../../shared/xmlrpc/types.js";
import type { Context } from "../context.js";
import { CLIENT_ATTRIBUTES, describeClients } from "../store/client-view.js";
import { removeMachine } from "../link/removal.js";
import { JobStore } from "../store/jobs.js";
import {
  allClientIds,
  assignedJobIds,
  clientExists,
  jobHistory,
  readClients,
  resolveClientName,
  sendControl,
  setAvailabilityRules,
  setDisabled,
  askUpgrade,
} from "../store/clients.js";
import {
  attribList,
  badArgument,
  bool,
  id,
  idList,
  isGiven,
  optionalInt,
  str,
  strList,
  notFound,
} from "./args.js";

function pickAttributes(names: string[] | undefined): string[] {
  if (names === undefined) return [...CLIENT_ATTRIBUTES];
  for (const n of names)
    if (!CLIENT_ATTRIBUTES.includes(n))
      throw badArgument("attribs", `unknown client attribute ${JSON.stringify(n)}`);
  return names;
}

async function byNames(ctx: Context, names: string[]): Promise<number[]> {
  const out: number[] = [];
  for (const name of names)
    for (const cid of await resolveClientName(ctx, name)) if (!out.includes(cid)) out.push(cid);
  return out;
}

/** A client given by id (int or numeric string) or by name ("host", "host:name"). */
export async function oneClient(
  ctx: Context,
  value: XmlRpcValue | undefined,
  argName: string,
): Promise<number> {
  if (typeof value === "string" && !/^\s*\d+\s*$/.test(value)) {
    const found = await resolveClientName(ctx, value);
    if (found[0] === undefined) throw notFound(argName, `no client named ${JSON.stringify(value)}`);
    return found[0];
  }
  const cid = id(value, argName);
  if (!(await clientExists(ctx, cid))) throw notFound(argName, `client ${cid} does not exist`);
  return cid;
}

/** One removeClients call removes at most this many clients: each is a few Redis round trips. */
export const MAX_REMOVE = 1000;

function parseRules(value: XmlRpcValue | undefined): AvailabilityRule[] {
  if (!isGiven(value)) return [];
  if (!Array.isArray(value)) throw badArgument("rules", "expected a list of rules");
  return value.map((raw, i) => {
    const name = `rules[${i}]`;
    if (!isStruct(raw)) throw badArgument(name, "expected a struct");
    const r = raw;
    const type = str(r.type, `${name}.type`);
    if (type === "anytime") return { type };
    if (type === "idle") return { type, minutes: Math.max(0, optionalInt(r.minutes, `${name}.minutes`, 0)) };
    if (type !== "window") throw badArgument(`${name}.type`, `expected "window", "idle" or "anytime"`);
    const hhmm = (v: XmlRpcValue | undefined, end: WindowEnd) => {
      const text = str(v, `${name}.${end}`);
      if (clockMinutes(text, end) === null) throw badArgument(`${name}.${end}`, clockExpected(end));
      return text;
    };
    const days = isGiven(r.days)
      ? strList(r.days, `${name}.days`).map((d) => {
          const n = Number(d);
          if (!isWeekday(n)) throw badArgument(`${name}.days`, "expected 0 (Sunday) .. 6");
          return n;
        })
      : [];
    return { type, days, start: hhmm(r.start, "start"), end: hhmm(r.end, "end") };
  });
}

export function clientsMethods(ctx: Context): Methods {
  const store = new JobStore(ctx);
  const getClients = async (ids: number[] | undefined, attribs: XmlRpcValue | undefined) =>
    describeClients(ctx, ids ?? (await allClientIds(ctx)), pickAttributes(attribList(attribs)));
  const firstByName = async (
    name: XmlRpcValue | undefined,
    attribs: XmlRpcValue | undefined,
    arg: string,
  ) => {
    const found = await resolveClientName(ctx, str(name, arg));
    return found[0] === undefined ? null : ((await getClients([found[0]], attribs))[0] ?? null);
  };
  const listByNames = async (names: XmlRpcValue | undefined, attribs: XmlRpcValue | undefined, arg: string) =>
    getClients(await byNames(ctx, strList(names, arg)), attribs);

  return {
    getClients: ([ids, attribs]) => getClients(isGiven(ids) ? idList(ids, "client_ids") : undefined, attribs),
    getClient: async ([cid, attribs]) => {
      const n = id(cid, "client_id");
      const found = await getClients([n], attribs);
      if (found[0] === undefined) throw new Fault(FaultCode.notFound, `client ${n} does not exist`);
      return found[0];
    },
    getClientByName: ([name, attribs]) => firstByName(name, attribs, "clientname"),
    getClientByHostname: ([name, attribs]) => firstByName(name, attribs, "hostname"),
    getClientsByName: ([names, attribs]) => listByNames(names, attribs, "clientnames"),
    getClientsByHostname: ([names, attribs]) => listByNames(names, attribs, "hostnames"),
    setdisabled: async ([name, disabled]) => {
      const ids = await resolveClientName(ctx, str(name, "clientname"));
      const value = bool(disabled, "disabled");
      if (ids.length === 0) return null;
      for (const cid of ids) {
        await setDisabled(ctx, cid, value);
        await sendControl(ctx, cid, { type: "refresh" });
      }
      return true;
    },
    getJobIdsAssignedToClient: async ([cid]) => (await assignedJobIds(ctx, [id(cid, "client_id")]))[0] ?? [],
    getJobHistory: async ([cid, limit]) => {
      const n = optionalInt(limit, "limit", 5);
      if (n <= 0) return [];
      return jobHistory(ctx, id(cid, "client_id"), n);
    },
    upgradeClients: async ([ids]) => {
      const wanted = idList(ids, "client_ids");
      const records = await readClients(ctx, wanted);
      for (const client of records) {
        if (client === null) continue;
        // An agent without a link cannot be told: say so now rather than leave it pending.
        await askUpgrade(ctx, client.id, client.connected ? "pending" : "failed: not connected");
        if (client.connected) await sendControl(ctx, client.id, { type: "upgrade" });
      }
      return null;
    },
    removeClients: async ([ids]) => {
      const wanted = [...new Set(idList(ids, "client_ids"))];
      if (wanted.length > MAX_REMOVE)
        throw badArgument("client_ids", `expected at most ${MAX_REMOVE} ids, got ${wanted.length}`);
      const missing: number[] = [];
      for (const cid of wanted) if (!(await clientExists(ctx, cid))) missing.push(cid);
      if (missing.length > 0)
        throw notFound("client_ids", `no client ${missing.join(", ")}: nothing was removed`);
      const removed: number[] = [];
      for (const cid of wanted) if (await removeMachine(ctx, store, cid)) removed.push(cid);
      return removed;
    },
    setAvailabilityRules: async ([client, rules]) => {
      const cid = await oneClient(ctx, client, "client");
      const parsed = parseRules(rules);
      await setAvailabilityRules(ctx, cid, parsed);
      await sendControl(ctx, cid, { type: "availability", rules: parsed });
      return true;
    },
  };
}
