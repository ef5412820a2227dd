// Resources (COMPAT.md §6): getResources(resource_ids=None) as in the reference, plus the calls the original
// server only offered in its web UI: addResource(name, amount, per_machine=False) -> id,
// setResource(id_or_name, amount=None, per_machine=None, name=None) -> True,
// removeResource(id_or_name) -> True.
//
// Record (getResources): {id, name, amount, perMachine, used}. Keys: {p}resource:{id} HASH {name, amount,
// perMachine 0|1, used}, {p}resources ZSET, {p}resources:byName HASH name -> id. The scheduler keeps the
// usage: `used` (per-job resources) and {p}resource:{id}:machines HASH client id -> count (per-machine
// resources: used = number of machines holding it). A resource in use cannot be removed or switched between
// per-job and per-machine (its usage would be counted the wrong way); its amount can change at any time.
// Each change is one Lua script: coordinator/store/lua/{addResource,setResource,removeResource}.lua.

import {
  Fault,
  FaultCode,
  type Methods,
  type XmlRpcStruct,
  type XmlRpcValue,
} from "../../shared/xmlrpc/types.js";
import type { Context } from "../context.js";
import { runScript } from "../store/scripts.js";
import { badArgument, bool, int, isGiven, optionalIdList, str } from "./args.js";

const MAX_NAME_CHARS = 200;

export function resourcesMethods(ctx: Context): Methods {
  const { redis, keys } = ctx;
  const p = keys.prefix;

  /** A resource id from an id, or from a name (a name wins over an id spelt the same). */
  async function resolve(value: XmlRpcValue | undefined): Promise<number> {
    if (typeof value === "string") {
      const byName = await redis.hget(keys.resourcesByName, value);
      if (byName !== null) return Number(byName);
      if (!/^\s*\d+\s*$/.test(value)) {
        throw new Fault(FaultCode.notFound, `id_or_name: no resource named ${JSON.stringify(value)}`);
      }
    }
    const rid = int(value, "id_or_name");
    if (rid < 0) throw badArgument("id_or_name", `expected a resource id or name, got ${rid}`);
    return rid;
  }

  return {
    getResources: async ([resourceIds]) => {
      const rids =
        optionalIdList(resourceIds, "resource_ids") ??
        (await redis.zrange(keys.resources, 0, "-1")).map(Number);
      if (rids.length === 0) return [];
      const rows =
        (await redis
          .pipeline(
            rids.flatMap((r) => [
              ["hmget", keys.resource(r), "name", "amount", "perMachine", "used"],
              ["hlen", `${keys.resource(r)}:machines`],
            ]),
          )
          .exec()) ?? [];
      return rids.map((rid, i): XmlRpcStruct => {
        const [name, amount, perMachine, used] = (rows[2 * i]?.[1] as (string | null)[] | undefined) ?? [];
        if (name === null || name === undefined) {
          throw new Fault(FaultCode.notFound, `resource_ids[${i}]: no resource ${rid}`);
        }
        const machines = Number(rows[2 * i + 1]?.[1] ?? 0);
        return {
          id: rid,
          name,
          amount: Number(amount ?? 0),
          perMachine: perMachine === "1",
          used: perMachine === "1" ? machines : Number(used ?? 0),
        };
      });
    },

    addResource: async ([name, amount, perMachine]) =>
      Number(
        await runScript(redis, p, "addResource", [
          resourceName(name, "name"),
          resourceAmount(amount),
          isGiven(perMachine) && bool(perMachine, "per_machine") ? 1 : 0,
        ]),
      ),

    setResource: async ([idOrName, amount, perMachine, name]) => {
      const rid = await resolve(idOrName);
      await runScript(redis, p, "setResource", [
        rid,
        isGiven(amount) ? resourceAmount(amount) : "",
        isGiven(perMachine) ? (bool(perMachine, "per_machine") ? "1" : "0") : "",
        isGiven(name) ? resourceName(name, "name") : "",
      ]);
      return true;
    },

    removeResource: async ([idOrName]) => {
      await runScript(redis, p, "removeResource", [await resolve(idOrName)]);
      return true;
    },
  };
}

function resourceName(value: XmlRpcValue | undefined, argName: string): string {
  const name = str(value, argName).trim();
  if (name === "") throw badArgument(argName, "a resource needs a non-empty name");
  if (name.length > MAX_NAME_CHARS) throw badArgument(argName, `longer than ${MAX_NAME_CHARS} characters`);
  return name;
}

function resourceAmount(value: XmlRpcValue | undefined): number {
  const amount = int(value, "amount");
  if (amount < 0) throw badArgument("amount", `expected 0 or more, got ${amount}`);
  return amount;
}
