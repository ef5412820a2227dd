// getServerErrors() and getClientErrors(client_id): {total, errors} from the bounded error logs, newest
// first, or {} when there are none (as the reference says). Each error is {message, time (UTC dateTime),
// method?, stack?} for the server and whatever fields the agent reported for a client.

import type { Methods, XmlRpcStruct } from "../../shared/xmlrpc/types.js";
import type { Context } from "../context.js";
import { clientListed } from "../store/clients.js";
import { clientErrors, serverErrors } from "../store/errors.js";
import { id, notFound } from "./args.js";

export function errorsMethods(ctx: Context): Methods {
  return {
    getServerErrors: async () => logReply(await serverErrors(ctx)),
    getClientErrors: async ([clientId]) => {
      const cid = id(clientId, "client_id");
      const log = logReply(await clientErrors(ctx, cid));
      if (log["total"] === undefined && !(await clientListed(ctx, cid))) {
        throw notFound("client_id", `no client ${cid}`);
      }
      return log;
    },
  };
}

function logReply(entries: string[]): XmlRpcStruct {
  if (entries.length === 0) return {};
  return { total: entries.length, errors: entries.map(toStruct) };
}

function toStruct(entry: string): XmlRpcStruct {
  let record: unknown;
  try {
    record = JSON.parse(entry);
  } catch {
    return { message: entry };
  }
  if (record === null || typeof record !== "object" || Array.isArray(record))
    return { message: String(entry) };
  const out: XmlRpcStruct = {};
  for (const [key, value] of Object.entries(record as Record<string, unknown>)) {
    if (key === "time" && typeof value === "number") out[key] = new Date(value);
    else if (typeof value === "string" || typeof value === "number" || typeof value === "boolean")
      out[key] = value;
    else if (value !== null && value !== undefined) out[key] = JSON.stringify(value);
  }
  return out;
}
