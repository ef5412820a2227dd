// Checking the farm secret agents present, and rotating it.
//
// rotateFarmSecret: a new farm secret for a farm whose secret was generated (kept in Redis and the data
// folder's farm-secret; a configured openhq.farmSecret is changed where it is configured). What it means:
//   - new machines, installers and /install downloads need the new secret from then on; the old one enrolls
//     nothing;
//   - enrolled agents keep working: each holds its own client credential, which admits it on reconnect even
//     with the old secret in its hqnode.ini. Their links are not dropped;
//   - what still needs the farm secret on such an agent fails until its hqnode.ini has the new one (re-run
//     the install line, which updates `token`): upgradeClients (its download gets HTTP 401 with access
//     control on, shown as the client's upgrade state), and `terminate` callers must use the agent's old one.
// Coordinators sharing the Redis learn the new secret the first time a hello or download presents it
// (one Redis read a second at most), so none needs a restart.

import { randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, writeFileSync } from "node:fs";
import type { HelloMessage } from "../../shared/protocol.js";
import { sha256 } from "../../shared/basic-auth.js";
import type { Context } from "../context.js";
import { clientLabel } from "../store/clients.js";
import {
  dropPendingEnrollment,
  enrollmentOf,
  readFarmSecret,
  replaceFarmSecret,
} from "../store/credentials.js";

export class SecretConfiguredError extends Error {}

/** Makes and stores a new farm secret; the data folder's farm-secret file gets it too. */
export async function rotateFarmSecret(ctx: Context): Promise<void> {
  const file = ctx.settings.farmSecretFile;
  if (file === undefined || file === null)
    throw new SecretConfiguredError(
      "the farm secret is configured (openhq.farmSecret or OPENHQ_FARM_SECRET): change it there and restart the coordinators",
    );
  const secret = randomBytes(24).toString("base64url");
  await replaceFarmSecret(ctx, secret);
  ctx.settings.farmSecret = secret;
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
}

const REFRESH_INTERVAL_MS = 1000;
const lastRefresh = new WeakMap<Context, number>();

/** True when `given` is the farm secret; a generated secret is read again from Redis (rotated elsewhere). */
export async function farmSecretMatches(ctx: Context, given: unknown): Promise<boolean> {
  if (typeof given !== "string") return false;
  const secret = ctx.settings.farmSecret;
  if (secret !== null && sameSecret(given, secret)) return true;
  if (ctx.settings.farmSecretFile === undefined || ctx.settings.farmSecretFile === null) return false;
  const now = Date.now();
  if (now - (lastRefresh.get(ctx) ?? 0) < REFRESH_INTERVAL_MS) return false;
  lastRefresh.set(ctx, now);
  const stored = await readFarmSecret(ctx);
  if (stored === null || stored === secret) return false;
  ctx.settings.farmSecret = stored;
  return sameSecret(given, stored);
}

/**
 * A hello with the wrong farm secret but the name's own valid credential: an enrolled agent after a
 * rotation. Only hellos that carry a credential cost a Redis read here.
 */
export async function ownCredentialAdmits(ctx: Context, msg: HelloMessage): Promise<boolean> {
  if (typeof msg.credential !== "string") return false;
  const client = await enrollmentOf(ctx, clientLabel(msg.hostname, msg.name));
  if (client === null || client.revoked || client.digest === null) return false;
  if (!timingSafeEqual(sha256(msg.credential), Buffer.from(client.digest, "hex"))) return false;
  await dropPendingEnrollment(ctx, client.id);
  return true;
}

/** Compares two secrets in constant time (their digests, so lengths leak nothing either). */
export function sameSecret(given: unknown, expected: string): boolean {
  if (typeof given !== "string") return false;
  return timingSafeEqual(sha256(given), sha256(expected));
}
