// Client groups: createClientGroup, deleteClientGroup, addClientToGroup, removeClientFromGroup,
// getClientGroups, getClientGroup, getClientGroupByName. This module only coerces arguments and shapes
// replies; the groups, their members and the `groups` mirror in the client hash live in
// coordinator/store/groups.ts.

import type { Methods, XmlRpcStruct, XmlRpcValue } from "../../shared/xmlrpc/types.js";
import type { Context } from "../context.js";
import { GroupStore } from "../store/groups.js";
import { attribList, badArgument, id, optionalIdList, str, notFound } from "./args.js";

const GROUP_ATTRIBUTES = ["clients", "id", "name"];
const MAX_NAME_CHARS = 200;

export function groupsMethods(ctx: Context): Methods {
  const store = new GroupStore(ctx);

  /** `argument(i)` names the id in the NotFound Fault for a group that does not exist. */
  async function readGroups(
    ids: number[],
    attribs: string[] | undefined,
    argument = (i: number) => `group_ids[${i}]`,
  ): Promise<XmlRpcStruct[]> {
    const wanted = checkAttribs(attribs);
    const stored = await store.read(ids, wanted.includes("clients"));
    return stored.map((found, i) => {
      if (found === null) throw notFound(argument(i), `no client group ${ids[i]}`);
      const group: XmlRpcStruct = {};
      if (wanted.includes("id")) group["id"] = found.id;
      if (wanted.includes("name")) group["name"] = found.name;
      if (found.clients) group["clients"] = found.clients;
      return group;
    });
  }

  async function oneGroup(
    gid: number,
    attribs: XmlRpcValue | undefined,
    argument: string,
  ): Promise<XmlRpcStruct> {
    const [group] = await readGroups([gid], attribList(attribs), () => argument);
    return group ?? {};
  }

  return {
    createClientGroup: async ([name]) => store.create(groupName(name)),

    deleteClientGroup: async ([groupId]) => {
      await store.delete(id(groupId, "group_id"));
      return null;
    },

    addClientToGroup: async ([groupId, clientId]) => {
      await store.setMembership(id(groupId, "group_id"), id(clientId, "client_id"), true);
      return null;
    },

    removeClientFromGroup: async ([groupId, clientId]) => {
      await store.setMembership(id(groupId, "group_id"), id(clientId, "client_id"), false);
      return null;
    },

    getClientGroups: async ([groupIds, attribs]) => {
      const ids = optionalIdList(groupIds, "group_ids") ?? (await store.ids());
      return readGroups(ids, attribList(attribs));
    },

    getClientGroup: async ([groupId, attribs]) => {
      return oneGroup(id(groupId, "group_id"), attribs, "group_id");
    },

    getClientGroupByName: async ([name, attribs]) => {
      const wanted = str(name, "name");
      const gid = await store.idByName(wanted);
      if (gid === null) throw notFound("name", `no client group named ${JSON.stringify(wanted)}`);
      return oneGroup(gid, attribs, "name");
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
