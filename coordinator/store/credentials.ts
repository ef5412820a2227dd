// The two secrets of coordinator/link/identity.ts as Redis holds them: the farm secret ({p}farm:secret, made
// by the first coordinator when none is configured) and each client's credential digest ({p}client:{id}
// field `credential`, with `revoked`), and who may enroll a known name again without it: `address`, the
// link address of the name's last registration, and `approvedAddress`, the one an admin approved from
// `pendingEnroll` (the last refused request: address and time).

import type { Context } from "../context.js";
import { sendControl } from "./clients.js";
import { setOnce } from "./set-once.js";

/** Stores `fresh` as the farm secret unless there is one: returns the farm's secret and whether it is `fresh`. */
export async function claimFarmSecret(
  ctx: Pick<Context, "redis" | "keys">,
  fresh: string,
): Promise<{ secret: string; created: boolean }> {
  const { kept, created } = await setOnce(ctx.redis, ctx.keys.farmSecret, fresh);
  return { secret: kept, created };
}

/** The farm secret Redis holds (null when none was generated). */
export async function readFarmSecret(ctx: Context): Promise<string | null> {
  return ctx.redis.get(ctx.keys.farmSecret);
}

/** rotateFarmSecret: the new secret replaces the old one for every coordinator of the farm. */
export async function replaceFarmSecret(ctx: Context, secret: string): Promise<void> {
  await ctx.redis.set(ctx.keys.farmSecret, secret);
}

export interface Enrollment {
  id: string;
  revoked: boolean;
  /** sha256 (hex) of the client's credential, or null when it has none. */
  digest: string | null;
  connected: boolean;
  lastHeartbeat: number;
  /** The link address of the name's last registration ("" before the first one that recorded it). */
  address: string;
  /** The address an admin approved to enroll the name again (approveClient), or "". */
  approvedAddress: string;
}

/** A refused request to enroll a known name again, waiting for an admin (approveClient). */
export interface PendingEnrollment {
  address: string;
  time: number;
}

/** What admission needs of the client with this label, or null when the label has no client yet. */
export async function enrollmentOf(ctx: Context, label: string): Promise<Enrollment | null> {
  const id = await ctx.redis.hget(ctx.keys.clientsByLabel, label);
  if (id === null) return null;
  const [revoked, digest, connected, lastHeartbeat, address, approvedAddress] = await ctx.redis.hmget(
    ctx.keys.client(id),
    "revoked",
    "credential",
    "connected",
    "lastHeartbeat",
    "address",
    "approvedAddress",
  );
  return {
    id,
    revoked: revoked === "1",
    digest: digest || null,
    connected: connected === "1",
    lastHeartbeat: Number(lastHeartbeat ?? 0),
    address: address ?? "",
    approvedAddress: approvedAddress ?? "",
  };
}

/** Forgets the credential (and any approval and pending request): the next hello enrolls the name. */
export async function dropCredential(ctx: Context, id: string | number): Promise<void> {
  await ctx.redis.hdel(ctx.keys.client(id), "credential", "approvedAddress", "pendingEnroll");
}

/** Records a refused re-enrollment for an admin to approve; only the latest is kept. */
export async function recordPendingEnrollment(
  ctx: Context,
  id: string | number,
  pending: PendingEnrollment,
): Promise<void> {
  await ctx.redis.hset(ctx.keys.client(id), "pendingEnroll", JSON.stringify(pending));
}

export async function pendingEnrollmentOf(ctx: Context, id: number): Promise<PendingEnrollment | null> {
  const raw = await ctx.redis.hget(ctx.keys.client(id), "pendingEnroll");
  if (raw === null) return null;
  try {
    const parsed = JSON.parse(raw) as Partial<PendingEnrollment>;
    return typeof parsed.address === "string" && typeof parsed.time === "number"
      ? { address: parsed.address, time: parsed.time }
      : null;
  } catch {
    return null;
  }
}

export async function dropPendingEnrollment(ctx: Context, id: string | number): Promise<void> {
  await ctx.redis.hdel(ctx.keys.client(id), "pendingEnroll", "approvedAddress");
}

/** Lets `address` enroll client `id`'s name again with no credential (once; the enrollment clears it). */
export async function approveEnrollment(ctx: Context, id: number, address: string): Promise<void> {
  await ctx.redis
    .multi()
    .hset(ctx.keys.client(id), "approvedAddress", address)
    .hdel(ctx.keys.client(id), "pendingEnroll")
    .exec();
}

/** Stores a credential digest unless the client has one already (another coordinator enrolled it). */
export async function storeCredential(ctx: Context, id: number, digest: string): Promise<boolean> {
  return (await ctx.redis.hsetnx(ctx.keys.client(id), "credential", digest)) === 1;
}

/**
 * Marks the client revoked and moves its credential's digest aside (`revokedCredential`: removeClient keeps
 * it refused once the record is gone), then tells the coordinator holding its link.
 */
export async function revokeClient(ctx: Context, id: number): Promise<void> {
  const key = ctx.keys.client(id);
  const digest = await ctx.redis.hget(key, "credential");
  const moved = digest === null ? {} : { revokedCredential: digest };
  await ctx.redis
    .multi()
    .hset(key, { revoked: "1", ...moved })
    .hdel(key, "credential")
    .exec();
  await sendControl(ctx, id, { type: "revoked" });
}

/** The credential digest of the removed client that had this label, or null (lua/removeClient.lua). */
export async function removedCredentialOf(ctx: Context, label: string): Promise<string | null> {
  return ctx.redis.hget(ctx.keys.clientsRemoved, label);
}
