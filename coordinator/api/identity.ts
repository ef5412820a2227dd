// openhq extensions, admin only (not in auth.ts READ_ONLY_METHODS), on who may hold a client name
// (coordinator/link/identity.ts):
//   - revokeClient(clientId): the agent's link is closed and that client name is refused from then on;
//   - approveClient(clientId): the last refused request to enroll that known name again, from another
//     address and without its credential, may enroll once; returns the approved address.

import { Fault, FaultCode, type Methods } from "../../shared/xmlrpc/types.js";
import type { Context } from "../context.js";
import { approveEnrollment, pendingEnrollmentOf, revokeClient } from "../store/credentials.js";
import { clientExists } from "../store/clients.js";
import { id } from "./args.js";
import { rotateFarmSecret, SecretConfiguredError } from "../link/farm-secret.js";

/** 127.0.0.0/8, ::1, and IPv4-mapped loopback. */
function loopback(address: string | undefined): boolean {
  return address !== undefined && /^(127\.|::1$|::ffff:127\.)/.test(address);
}

export function identityMethods(ctx: Context): Methods {
  return {
    revokeClient: async ([clientId]) => {
      const cid = id(clientId, "client_id");
      if (!(await clientExists(ctx, cid)))
        throw new Fault(FaultCode.notFound, `client ${cid} does not exist`);
      await revokeClient(ctx, cid);
      return true;
    },
    rotateFarmSecret: async (_params, call) => {
      // With access control on, authorize() let only an admin through (and set call.user).
      if (call.user === undefined && !loopback(call.remoteAddress))
        throw new Fault(
          FaultCode.forbidden,
          "rotateFarmSecret: with access control off, only from the coordinator's host (openhq rotate-secret there)",
        );
      try {
        await rotateFarmSecret(ctx);
      } catch (err) {
        if (err instanceof SecretConfiguredError) throw new Fault(FaultCode.conflict, err.message);
        throw err;
      }
      return true;
    },
    approveClient: async ([clientId]) => {
      const cid = id(clientId, "client_id");
      if (!(await clientExists(ctx, cid)))
        throw new Fault(FaultCode.notFound, `client ${cid} does not exist`);
      const pending = await pendingEnrollmentOf(ctx, cid);
      if (pending === null)
        throw new Fault(FaultCode.notFound, `client ${cid} has no request to enroll again`);
      await approveEnrollment(ctx, cid, pending.address);
      return pending.address;
    },
  };
}
