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

import {
  Fault,
  FaultCode,
  type Methods,
  type XmlRpcStruct,
  type XmlRpcValue,
} from "../../shared/xmlrpc/types.js";
import type { Context } from "../context.js";
import { LuaScript } from "../redis/script.js";
import { badArgument, bool, int, isGiven, optionalIdList, str } from "./args.js";

const MAX_NAME_CHARS = 200;

// Shared Lua: current usage of a resource.
const USED = `
local function usedOf(p, rid)
  local key = p .. 'resource:' .. rid
  if redis.call('HGET', key, 'perMachine') == '1' then return redis.call('HLEN', key .. ':machines') end
  return tonumber(redis.call('HGET', key, 'used') or '0') or 0
end
`;

// ARGV: prefix, name, amount, perMachine (0|1). Returns the new id.
const ADD = new LuaScript(`
local p, name, amount, perMachine = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if redis.call('HEXISTS', p .. 'resources:byName', name) == 1 then
  return {'fault', ${FaultCode.conflict}, 'name: a resource named ' .. cjson.encode(name) .. ' already exists'}
end
local rid = redis.call('INCR', p .. 'ids:resource')
redis.call('HSET', p .. 'resource:' .. rid, 'name', name, 'amount', amount, 'perMachine', perMachine, 'used', 0)
redis.call('ZADD', p .. 'resources', rid, rid)
redis.call('HSET', p .. 'resources:byName', name, rid)
return rid
`);

// ARGV: prefix, id, amount|'', perMachine|'', name|''. Empty = leave as is.
const SET = new LuaScript(`${USED}
local p, rid, amount, perMachine, name = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local key = p .. 'resource:' .. rid
if redis.call('EXISTS', key) == 0 then return {'fault', ${FaultCode.notFound}, 'id_or_name: no resource ' .. rid} end
local old = redis.call('HGET', key, 'name')
if name ~= '' and name ~= old then
  if redis.call('HEXISTS', p .. 'resources:byName', name) == 1 then
    return {'fault', ${FaultCode.conflict}, 'name: a resource named ' .. cjson.encode(name) .. ' already exists'}
  end
end
if perMachine ~= '' and perMachine ~= redis.call('HGET', key, 'perMachine') and usedOf(p, rid) > 0 then
  return {'fault', ${FaultCode.conflict}, 'per_machine: resource ' .. rid .. ' is in use; change it when no job holds it'}
end
if name ~= '' and name ~= old then
  redis.call('HDEL', p .. 'resources:byName', old)
  redis.call('HSET', p .. 'resources:byName', name, rid)
  redis.call('HSET', key, 'name', name)
end
if amount ~= '' then redis.call('HSET', key, 'amount', amount) end
if perMachine ~= '' then redis.call('HSET', key, 'perMachine', perMachine) end
return 1
`);

// ARGV: prefix, id.
const REMOVE = new LuaScript(`${USED}
local p, rid = ARGV[1], ARGV[2]
local key = p .. 'resource:' .. rid
if redis.call('EXISTS', key) == 0 then return {'fault', ${FaultCode.notFound}, 'id_or_name: no resource ' .. rid} end
if usedOf(p, rid) > 0 then
  return {'fault', ${FaultCode.conflict}, 'id_or_name: resource ' .. rid .. ' is in use; remove it when no job holds it'}
end
redis.call('HDEL', p .. 'resources:byName', redis.call('HGET', key, 'name'))
redis.call('DEL', key, key .. ':machines')
redis.call('ZREM', p .. 'resources', rid)
return 1
`);

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
        await ADD.run(
          redis,
          [],
          [
            p,
            resourceName(name, "name"),
            resourceAmount(amount),
            isGiven(perMachine) && bool(perMachine, "per_machine") ? 1 : 0,
          ],
        ),
      ),

    setResource: async ([idOrName, amount, perMachine, name]) => {
      const rid = await resolve(idOrName);
      await SET.run(
        redis,
        [],
        [
          p,
          rid,
          isGiven(amount) ? resourceAmount(amount) : "",
          isGiven(perMachine) ? (bool(perMachine, "per_machine") ? "1" : "0") : "",
          isGiven(name) ? resourceName(name, "name") : "",
        ],
      );
      return true;
    },

    removeResource: async ([idOrName]) => {
      await REMOVE.run(redis, [], [p, await resolve(idOrName)]);
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
