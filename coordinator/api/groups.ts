// Client groups: createClientGroup, deleteClientGroup, addClientToGroup, removeClientFromGroup,
// getClientGroups, getClientGroup, getClientGroupByName.
//
// Keys (coordinator/store/keys.ts): {p}group:{id} HASH {name}, {p}group:{id}:clients SET, {p}groups ZSET,
// {p}groups:byName HASH name -> id. Each change is one Lua script (coordinator/store/lua/createClientGroup,
// deleteClientGroup, setGroupMembership), so a bad call changes nothing.
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
import { runScript } from "../store/scripts.js";
import { attribList, badArgument, id, optionalIdList, str } from "./args.js";

const GROUP_ATTRIBUTES = ["clients", "id", "name"];
const MAX_NAME_CHARS = 200;

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
    createClientGroup: async ([name]) =>
      Number(await runScript(redis, p, "createClientGroup", [groupName(name)])),

    deleteClientGroup: async ([groupId]) => {
      await runScript(redis, p, "deleteClientGroup", [id(groupId, "group_id")]);
      return null;
    },

    addClientToGroup: async ([groupId, clientId]) => {
      await runScript(redis, p, "setGroupMembership", [
        id(groupId, "group_id"),
        id(clientId, "client_id"),
        1,
      ]);
      return null;
    },

    removeClientFromGroup: async ([groupId, clientId]) => {
      await runScript(redis, p, "setGroupMembership", [
        id(groupId, "group_id"),
        id(clientId, "client_id"),
        0,
      ]);
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
