// The two secrets of coordinator/link/identity.ts as Redis holds them: the farm secret ({p}farm:secret, made
// by the first coordinator when none is configured) and each client's credential digest ({p}client:{id}
// field `credential`, with `revoked`).

import type { Context } from "../context.js";
import { sendControl } from "./clients.js";
import { setOnce } from "./set-once.js";

/** Stores `fresh` as the farm secret unless there is one: returns the farm's secret and whether it is `fresh`. */
export async function claimFarmSecret(
  ctx: Context,
  fresh: string,
): Promise<{ secret: string; created: boolean }> {
  const { kept, created } = await setOnce(ctx.redis, ctx.keys.farmSecret, fresh);
  return { secret: kept, created };
}

export interface Enrollment {
  id: string;
  revoked: boolean;
  /** sha256 (hex) of the client's credential, or null when it has none. */
  digest: string | null;
  connected: boolean;
  lastHeartbeat: number;
}

/** What admission needs of the client with this label, or null when the label has no client yet. */
export async function enrollmentOf(ctx: Context, label: string): Promise<Enrollment | null> {
  const id = await ctx.redis.hget(ctx.keys.clientsByLabel, label);
  if (id === null) return null;
  const [revoked, digest, connected, lastHeartbeat] = await ctx.redis.hmget(
    ctx.keys.client(id),
    "revoked",
    "credential",
    "connected",
    "lastHeartbeat",
  );
  return {
    id,
    revoked: revoked === "1",
    digest: digest || null,
    connected: connected === "1",
    lastHeartbeat: Number(lastHeartbeat ?? 0),
  };
}

export async function dropCredential(ctx: Context, id: string | number): Promise<void> {
  await ctx.redis.hdel(ctx.keys.client(id), "credential");
}

/** Stores a credential digest unless the client has one already (another coordinator enrolled it). */
export async function storeCredential(ctx: Context, id: number, digest: string): Promise<boolean> {
  return (await ctx.redis.hsetnx(ctx.keys.client(id), "credential", digest)) === 1;
}

/** Marks the client revoked, drops its credential, then tells the coordinator holding its link. */
export async function revokeClient(ctx: Context, id: number): Promise<void> {
  await ctx.redis
    .multi()
    .hset(ctx.keys.client(id), "revoked", "1")
    .hdel(ctx.keys.client(id), "credential")
    .exec();
  await sendControl(ctx, id, { type: "revoked" });
}
