// Server-level calls: getConfig, getHQRoot, getVersion, getServerTime, ping.

import type { Methods } from "../../shared/xmlrpc/types.js";
import type { Context } from "../context.js";
import { VERSION } from "../../shared/version.js";
import { isSecretName, redactUrls } from "../../shared/redact.js";
import { bool, isGiven, str } from "./args.js";

const PLATFORMS = ["linux", "windows", "macosx"];
/** Keys whose values are (or may hold) secrets whatever their name: the Redis URLs. */
const SECRET_KEYS = ["openhq.redis", "openhq.redis.sentinels"];
/** Webhook settings: a hook's URL is often its credential (Slack's incoming webhooks). */
const SECRET_PART = /(^|\.)openhq\.webhooks\./;

export function configMethods(ctx: Context): Methods {
  const { settings } = ctx;
  return {
    ping: () => true,
    getVersion: () => VERSION,
    getServerTime: () => new Date(),
    /**
     * The ini value as written (after %(here)s); None when the key is not in the file or is a secret (a
     * password, token, user list or Redis URL, by name); a URL value loses its user:password. Read-only
     * users may call this, and they are attackers as far as secrets go.
     */
    getConfig: ([key]) => {
      const name = str(key, "key");
      if (
        isSecretName(name) ||
        SECRET_PART.test(name) ||
        SECRET_KEYS.some((secret) => name === secret || name.endsWith(`.${secret}`))
      )
        return null;
      const value = settings.raw[name];
      return value === undefined ? null : redactUrls(value);
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
