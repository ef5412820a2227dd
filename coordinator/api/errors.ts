// getServerErrors() and getClientErrors(client_id): {total, errors} from the bounded error logs, newest
// first, or {} when there are none (as the reference says). Each error is {message, time (UTC dateTime),
// method?, stack?} for the server and whatever fields the agent reported for a client.

import type { Methods } from "../../shared/xmlrpc/types.js";
import type { Context } from "../context.js";
import { clientListed } from "../store/clients.js";
import { clientErrors, errorLogView, serverErrors } from "../store/errors.js";
import { id, notFound } from "./args.js";

export function errorsMethods(ctx: Context): Methods {
  return {
    getServerErrors: async () => errorLogView(await serverErrors(ctx)),
    getClientErrors: async ([clientId]) => {
      const cid = id(clientId, "client_id");
      const log = errorLogView(await clientErrors(ctx, cid));
      if (log["total"] === undefined && !(await clientListed(ctx, cid))) {
        throw notFound("client_id", `no client ${cid}`);
      }
      return log;
    },
  };
}
