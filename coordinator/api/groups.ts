// Client groups: createClientGroup, deleteClientGroup, addClientToGroup, removeClientFromGroup,
// getClientGroups, getClientGroup, getClientGroupByName.
//
// Keys (coordinator/store/keys.ts): {p}group:{id} HASH {name}, {p}group:{id}:clients SET, {p}groups ZSET,
// {p}groups:byName HASH name -> id. Each change is one Lua script, so a bad call changes nothing.
// Mirror for cheap reads: every change of membership rewrites the client hash field `groups` of
// {p}client:{cid} = JSON list of the client's group ids, ascending (the clients API returns it as `groups`).
// Members are listed only while they are still registered clients (a removed client drops out of `clients`).

import {
  Fault,
  FaultCode,
  type Methods,
  type XmlRpcStruct,
  type XmlRpcValue,
} from "../../shared/xmlrpc/types.js";
import type { Context } from "../context.js";
import { LuaScript } from "../redis/script.js";
import { attribList, badArgument, id, optionalIdList, str } from "./args.js";

const GROUP_ATTRIBUTES = ["clients", "id", "name"];
const MAX_NAME_CHARS = 200;

// Shared Lua: rewrite a client's `groups` mirror after its membership of one group changed.
const SET_MIRROR = `
local function setMirror(p, cid, gid, member)
  local ckey = p .. 'client:' .. cid
  if redis.call('EXISTS', ckey) == 0 then return end
  local raw = redis.call('HGET', ckey, 'groups')
  local ids = {}
  if raw and raw ~= '' then
    for _, g in ipairs(cjson.decode(raw)) do
      if tonumber(g) ~= tonumber(gid) then ids[#ids + 1] = tonumber(g) end
    end
  end
  if member then ids[#ids + 1] = tonumber(gid) end
  table.sort(ids)
  redis.call('HSET', ckey, 'groups', #ids == 0 and '[]' or cjson.encode(ids))
end
`;

const CREATE = new LuaScript(`
local p, name = ARGV[1], ARGV[2]
if redis.call('HEXISTS', p .. 'groups:byName', name) == 1 then
  return {'fault', ${FaultCode.conflict}, 'name: a client group named ' .. cjson.encode(name) .. ' already exists'}
end
local gid = redis.call('INCR', p .. 'ids:group')
redis.call('HSET', p .. 'group:' .. gid, 'name', name)
redis.call('ZADD', p .. 'groups', gid, gid)
redis.call('HSET', p .. 'groups:byName', name, gid)
return gid
`);

const DELETE = new LuaScript(`${SET_MIRROR}
local p, gid = ARGV[1], ARGV[2]
local gkey = p .. 'group:' .. gid
if redis.call('EXISTS', gkey) == 0 then
  return {'fault', ${FaultCode.notFound}, 'group_id: no client group ' .. gid}
end
for _, cid in ipairs(redis.call('SMEMBERS', gkey .. ':clients')) do setMirror(p, cid, gid, false) end
redis.call('HDEL', p .. 'groups:byName', redis.call('HGET', gkey, 'name'))
redis.call('DEL', gkey, gkey .. ':clients')
redis.call('ZREM', p .. 'groups', gid)
return 1
`);

const MEMBERSHIP = new LuaScript(`${SET_MIRROR}
local p, gid, cid, member = ARGV[1], ARGV[2], ARGV[3], ARGV[4] == '1'
local gkey = p .. 'group:' .. gid
if redis.call('EXISTS', gkey) == 0 then
  return {'fault', ${FaultCode.notFound}, 'group_id: no client group ' .. gid}
end
if redis.call('ZSCORE', p .. 'clients', cid) == false then
  return {'fault', ${FaultCode.notFound}, 'client_id: no client ' .. cid}
end
if member then redis.call('SADD', gkey .. ':clients', cid) else redis.call('SREM', gkey .. ':clients', cid) end
setMirror(p, cid, gid, member)
return 1
`);

export function groupsMethods(ctx: Context): Methods {
  const { redis, keys } = ctx;
  const p = keys.prefix;

  async function readGroups(ids: number[], attribs: string[] | undefined): Promise<XmlRpcStruct[]> {
    const wanted = checkAttribs(attribs);
    const names =
      ids.length === 0 ? [] : await redis.pipeline(ids.map((g) => ["hget", keys.group(g), "name"])).exec();
    const members = wanted.includes("clients")
      ? await redis.pipeline(ids.map((g) => ["smembers", keys.groupClients(g)])).exec()
      : null;
    const groups: XmlRpcStruct[] = [];
    for (const [i, gid] of ids.entries()) {
      const name = names?.[i]?.[1];
      if (typeof name !== "string")
        throw new Fault(FaultCode.notFound, `group_ids[${i}]: no client group ${gid}`);
      const group: XmlRpcStruct = {};
      if (wanted.includes("id")) group["id"] = gid;
      if (wanted.includes("name")) group["name"] = name;
      if (members) group["clients"] = await registered((members[i]?.[1] as string[] | undefined) ?? []);
      groups.push(group);
    }
    return groups;
  }

  /** The given client ids that are still registered, ascending. */
  async function registered(ids: string[]): Promise<number[]> {
    if (ids.length === 0) return [];
    const scores = await redis.zmscore(keys.clients, ...ids);
    return ids
      .filter((_, i) => scores[i] !== null)
      .map(Number)
      .sort((a, b) => a - b);
  }

  async function oneGroup(gid: number, attribs: XmlRpcValue | undefined): Promise<XmlRpcStruct> {
    const [group] = await readGroups([gid], attribList(attribs));
    return group ?? {};
  }

  return {
    createClientGroup: async ([name]) => Number(await CREATE.run(redis, [], [p, groupName(name)])),

    deleteClientGroup: async ([groupId]) => {
      await DELETE.run(redis, [], [p, id(groupId, "group_id")]);
      return null;
    },

    addClientToGroup: async ([groupId, clientId]) => {
      await MEMBERSHIP.run(redis, [], [p, id(groupId, "group_id"), id(clientId, "client_id"), 1]);
      return null;
    },

    removeClientFromGroup: async ([groupId, clientId]) => {
      await MEMBERSHIP.run(redis, [], [p, id(groupId, "group_id"), id(clientId, "client_id"), 0]);
      return null;
    },

    getClientGroups: async ([groupIds, attribs]) => {
      const ids =
        optionalIdList(groupIds, "group_ids") ?? (await redis.zrange(keys.groups, 0, "-1")).map(Number);
      return readGroups(ids, attribList(attribs));
    },

    getClientGroup: async ([groupId, attribs]) => {
      const gid = id(groupId, "group_id");
      try {
        return await oneGroup(gid, attribs);
      } catch (err) {
        if (err instanceof Fault && err.faultCode === FaultCode.notFound) {
          throw new Fault(FaultCode.notFound, `group_id: no client group ${gid}`);
        }
        throw err;
      }
    },

    getClientGroupByName: async ([name, attribs]) => {
      const wanted = str(name, "name");
      const gid = await redis.hget(keys.groupsByName, wanted);
      if (gid === null)
        throw new Fault(FaultCode.notFound, `name: no client group named ${JSON.stringify(wanted)}`);
      return oneGroup(Number(gid), attribs);
    },
  };
}

function groupName(value: XmlRpcValue | undefined): string {
  const name = str(value, "name").trim();
  if (name === "") throw badArgument("name", "a client group needs a non-empty name");
  if (name.length > MAX_NAME_CHARS) throw badArgument("name", `longer than ${MAX_NAME_CHARS} characters`);
  return name;
}

function checkAttribs(attribs: string[] | undefined): string[] {
  if (attribs === undefined) return GROUP_ATTRIBUTES;
  attribs.forEach((a, i) => {
    if (!GROUP_ATTRIBUTES.includes(a)) {
      throw badArgument(
        `attribs[${i}]`,
        `unknown client group attribute ${JSON.stringify(a)} (known: ${GROUP_ATTRIBUTES.join(", ")})`,
      );
    }
  });
  return attribs;
}
