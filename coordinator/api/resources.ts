// Resources (docs/COMPAT.md §6): getResources(resource_ids=None) as in the reference, plus the calls the original
// server only offered in its web UI: addResource(name, amount, per_machine=False) -> id,
// setResource(id_or_name, amount=None, per_machine=None, name=None) -> True,
// removeResource(id_or_name) -> True.
//
// Record (getResources): {id, name, amount, perMachine, used}. This module only coerces arguments and shapes
// replies; the records, their usage and the rules for changing a resource in use live in
// coordinator/store/resources.ts.

import type { Methods, XmlRpcStruct, XmlRpcValue } from "../../shared/xmlrpc/types.js";
import type { Context } from "../context.js";
import { ResourceStore } from "../store/resources.js";
import { badArgument, bool, int, isGiven, optionalIdList, str, notFound } from "./args.js";

const MAX_NAME_CHARS = 200;

export function resourcesMethods(ctx: Context): Methods {
  const store = new ResourceStore(ctx);

  /** A resource id from an id, or from a name (a name wins over an id spelt the same). */
  async function resolve(value: XmlRpcValue | undefined): Promise<number> {
    if (typeof value === "string") {
      const byName = await store.idByName(value);
      if (byName !== null) return byName;
      if (!/^\s*\d+\s*$/.test(value)) {
        throw notFound("id_or_name", `no resource named ${JSON.stringify(value)}`);
      }
    }
    const rid = int(value, "id_or_name");
    if (rid < 0) throw badArgument("id_or_name", `expected a resource id or name, got ${rid}`);
    return rid;
  }

  return {
    getResources: async ([resourceIds]) => {
      const rids = optionalIdList(resourceIds, "resource_ids") ?? (await store.ids());
      return (await store.read(rids)).map((resource, i): XmlRpcStruct => {
        if (resource === null) throw notFound(`resource_ids[${i}]`, `no resource ${rids[i]}`);
        return { ...resource };
      });
    },

    addResource: async ([name, amount, perMachine]) =>
      store.add(
        resourceName(name, "name"),
        resourceAmount(amount),
        isGiven(perMachine) && bool(perMachine, "per_machine"),
      ),

    setResource: async ([idOrName, amount, perMachine, name]) => {
      const rid = await resolve(idOrName);
      await store.set(rid, {
        ...(isGiven(amount) ? { amount: resourceAmount(amount) } : {}),
        ...(isGiven(perMachine) ? { perMachine: bool(perMachine, "per_machine") } : {}),
        ...(isGiven(name) ? { name: resourceName(name, "name") } : {}),
      });
      return true;
    },

    removeResource: async ([idOrName]) => {
      await store.remove(await resolve(idOrName));
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
