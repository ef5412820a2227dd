// Placeholder: the clients API (owned by the scheduler helper) replaces this file.
import type { Context } from "../context.js";
import type { Methods } from "../../shared/xmlrpc/types.js";

export function clientsMethods(_ctx: Context): Methods {
  return {};
}
