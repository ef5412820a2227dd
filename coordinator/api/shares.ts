// Shares (docs/COMPAT.md §10, docs/ADMIN.md "Shares and running limits"): getShares() -> [{name, weight,
// guarantee, burst, burstSlots, running, users}], and the admin-only setShare(name, fields) -> True and
// removeShare(name) -> True, which change the farm's shares at run time (hqserver.ini's come back at a
// coordinator's next start). Definitions and their bounds: coordinator/shares.ts; Redis: store/shares.ts.

import { isStruct, type Methods, type XmlRpcStruct, type XmlRpcValue } from "../../shared/xmlrpc/types.js";
import type { Context } from "../context.js";
import { MAX_SHARES, SHARE_NAME, shareDef, DEFAULT_SHARE } from "../shares.js";
import { deleteShare, putShare, readShareState, shareRows } from "../store/shares.js";
import { badArgument, notFound, str } from "./args.js";

const FIELDS = new Set(["weight", "guarantee", "burst", "users"]);
const MAX_USERS = 1000;

function shareName(value: XmlRpcValue | undefined): string {
  const name = str(value, "name");
  if (!SHARE_NAME.test(name))
    throw badArgument("name", "expected a share name (letters, digits, _ . -, at most 64)");
  return name;
}

function userList(value: XmlRpcValue): string[] {
  const list = Array.isArray(value) ? value : String(value).split(/[\s,]+/);
  const users = list.map((u, i) => str(u, `fields.users[${i}]`).trim()).filter(Boolean);
  if (users.length > MAX_USERS) throw badArgument("fields.users", `at most ${MAX_USERS} users`);
  for (const u of users)
    if (u.length > 256) throw badArgument("fields.users", "a user name is at most 256 characters");
  return users;
}

export function sharesMethods(ctx: Context): Methods {
  return {
    getShares: async () => (await shareRows(ctx)).map((r): XmlRpcStruct => ({ ...r })),

    setShare: async ([name, fields]) => {
      const share = shareName(name);
      if (!isStruct(fields))
        throw badArgument("fields", "expected a struct of weight, guarantee, burst, users");
      for (const key of Object.keys(fields))
        if (!FIELDS.has(key))
          throw badArgument(`fields.${key}`, "expected weight, guarantee, burst or users");
      const state = await readShareState(ctx);
      if (!state.defs.has(share) && state.defs.size >= MAX_SHARES)
        throw badArgument("name", `at most ${MAX_SHARES} shares`);
      const def = shareDef(fields, state.defs.get(share) ?? DEFAULT_SHARE);
      if (typeof def === "string") throw badArgument(`fields.${def.slice(0, def.indexOf(":"))}`, def);
      const users = fields["users"] === undefined ? undefined : userList(fields["users"]);
      await putShare(ctx, share, def, users);
      return true;
    },

    removeShare: async ([name]) => {
      const share = shareName(name);
      const state = await readShareState(ctx);
      if (!state.defs.has(share)) throw notFound("name", `no share named ${JSON.stringify(share)}`);
      const users = [...state.users].filter(([, s]) => s === share).map(([u]) => u);
      await deleteShare(ctx, share, users);
      return true;
    },
  };
}
