// HTTP Basic credentials, as Python sends them for ServerProxy("http://user:password@host:port"). Used by the
// coordinator's access control and by the agent's port-5001 token check.

import { createHash, timingSafeEqual } from "node:crypto";

export interface Credentials {
  user: string;
  password: string;
}

/** null without an Authorization header, "malformed" when it is not Basic user:password. */
export function basicCredentials(header: string | undefined): Credentials | null | "malformed" {
  if (!header) return null;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match?.[1]) return "malformed";
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return "malformed";
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/** Compares a secret with its expected sha256 digest in constant time. */
export function matchesDigest(secret: string, digest: Buffer): boolean {
  const actual = sha256(secret);
  return actual.length === digest.length && timingSafeEqual(actual, digest);
}
