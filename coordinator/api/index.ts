// Every XML-RPC method the coordinator serves, composed from the API modules (one module per area).
// A name served by two modules is a wiring mistake, so it fails loudly at start-up. Each handler's
// domain refusals leave as Faults here, the one place they are translated.

import type { Methods } from "../../shared/xmlrpc/types.js";
import type { Context } from "../context.js";
import { auditMethods } from "./audit.js";
import { bladesMethods } from "./blades.js";
import { clientsMethods } from "./clients.js";
import { configMethods } from "./config.js";
import { errorsMethods } from "./errors.js";
import { asFault } from "./faults.js";
import { groupsMethods } from "./groups.js";
import { identityMethods } from "./identity.js";
import { jobsMethods } from "./jobs.js";
import { notesMethods } from "./notes.js";
import { resourcesMethods } from "./resources.js";
import { sharesMethods } from "./shares.js";
import type { RegisteredClients } from "../scheduler/registered.js";

/** `registered`: the process's registered clients (scheduler/registered.ts), for newjob's waiting reasons. */
export function apiMethods(ctx: Context, registered: RegisteredClients): Methods {
  const parts: [string, Methods][] = [
    ["jobs", jobsMethods(ctx, registered)],
    ["clients", clientsMethods(ctx)],
    ["blades", bladesMethods(ctx)],
    ["config", configMethods(ctx)],
    ["errors", errorsMethods(ctx)],
    ["groups", groupsMethods(ctx)],
    ["notes", notesMethods(ctx)],
    ["resources", resourcesMethods(ctx)],
    ["shares", sharesMethods(ctx)],
    ["identity", identityMethods(ctx)],
    ["audit", auditMethods(ctx)],
  ];
  const all: Methods = {};
  const owner: Record<string, string> = {};
  for (const [area, methods] of parts) {
    for (const [name, handler] of Object.entries(methods)) {
      if (owner[name] !== undefined)
        throw new Error(`XML-RPC method ${name} is defined by both ${owner[name]} and ${area}`);
      owner[name] = area;
      all[name] = async (params, call) => {
        try {
          return await handler(params, call);
        } catch (err) {
          throw asFault(err);
        }
      };
    }
  }
  return all;
}
