// openhq extension: revokeClient(clientId) — the agent's link is closed and that client name is refused
// from then on (coordinator/link/identity.ts). Admin only (not in auth.ts READ_ONLY_METHODS).

import { Fault, FaultCode, type Methods } from "../../shared/xmlrpc/types.js";
import type { Context } from "../context.js";
import { revokeClient } from "../store/credentials.js";
import { clientExists } from "../store/clients.js";
import { id } from "./args.js";

export function identityMethods(ctx: Context): Methods {
  return {
    revokeClient: async ([clientId]) => {
      const cid = id(clientId, "client_id");
      if (!(await clientExists(ctx, cid)))
        throw new Fault(FaultCode.notFound, `client ${cid} does not exist`);
      await revokeClient(ctx, cid);
      return true;
    },
  };
}
