// Placeholder: the job API (owned by the store/jobs helper) replaces this file.
import type { Context } from "../context.js";
import type { Methods } from "../../shared/xmlrpc/types.js";

export function jobsMethods(_ctx: Context): Methods {
  return {};
}
