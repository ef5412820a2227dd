// Server-level calls: getConfig, getHQRoot, getVersion, getServerTime, ping.

import type { Methods } from "../../shared/xmlrpc/types.js";
import type { Context } from "../context.js";
import { VERSION } from "../version.js";
import { bool, isGiven, str } from "./args.js";

const PLATFORMS = ["linux", "windows", "macosx"];
/** Keys whose values are secrets (the agents' token, a Redis URL with its password): never served. */
const SECRET_KEYS = ["openhq.agentToken", "openhq.redis"];

export function configMethods(ctx: Context): Methods {
  const { settings } = ctx;
  return {
    ping: () => true,
    getVersion: () => VERSION,
    getServerTime: () => new Date(),
    /** The ini value as written (after %(here)s); None when the key is not in the file or is a secret. */
    getConfig: ([key]) => {
      const name = str(key, "key");
      if (SECRET_KEYS.some((secret) => name === secret || name.endsWith(`.${secret}`))) return null;
      return settings.raw[name] ?? null;
    },
    getHQRoot: ([platformArg, isClientArg]) => {
      const platform = str(platformArg, "platform");
      if (!PLATFORMS.includes(platform)) return null;
      const isClient = isGiven(isClientArg) ? bool(isClientArg, "is_client") : true;
      if (platform === "windows" && isClient && settings.sharedNetworkHost && settings.sharedNetworkPath) {
        return uncPath(settings.sharedNetworkHost, settings.sharedNetworkPath);
      }
      return settings.sharedNetworkMount[platform] ?? null;
    },
  };
}

/** \\host\share\folder from a host and a path written either way ("/hq/shared" or "hq\shared"). */
export function uncPath(host: string, path: string): string {
  const cleanHost = host.replace(/^[\\/]+|[\\/]+$/g, "");
  const parts = path.split(/[\\/]+/).filter(Boolean);
  return `\\\\${[cleanHost, ...parts].join("\\")}`;
}
