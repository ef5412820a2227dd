// The resource store. Reads are pipelined; each change is one Lua script (lua/addResource, setResource,
// removeResource), so a bad call changes nothing.
//
// Keys (store/keys.ts): {p}resource:{id} HASH {name, amount, perMachine 0|1, used}, {p}resources ZSET all
// resource ids, {p}resources:byName HASH name -> id. The scheduler keeps the usage: `used` (per-job
// resources) and {p}resource:{id}:machines HASH client id -> count (per-machine resources: used = number of
// machines holding it). A resource in use cannot be removed or switched between per-job and per-machine (its
// usage would be counted the wrong way); its amount can change at any time.

import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";
import { runScript, type ScriptArg } from "./lua-scripts.js";

export interface StoredResource {
  id: number;
  name: string;
  amount: number;
  perMachine: boolean;
  /** Per-job: the amount held by running jobs; per-machine: the number of machines holding it. */
  used: number;
}

/** What setResource changes; an absent field stays as it is. */
export interface ResourceChange {
  amount?: number;
  perMachine?: boolean;
  name?: string;
}

export class ResourceStore {
  constructor(private readonly ctx: { redis: Redis; keys: Keys }) {}

  private run(name: string, args: ScriptArg[]): Promise<unknown> {
    return runScript(this.ctx.redis, this.ctx.keys.prefix, name, args);
  }

  /** Every resource id, ascending. */
  async ids(): Promise<number[]> {
    return (await this.ctx.redis.zrange(this.ctx.keys.resources, 0, "-1")).map(Number);
  }

  async idByName(name: string): Promise<number | null> {
    const rid = await this.ctx.redis.hget(this.ctx.keys.resourcesByName, name);
    return rid === null ? null : Number(rid);
  }

  /** Every resource with its usage. */
  async all(): Promise<StoredResource[]> {
    return (await this.read(await this.ids())).filter((r): r is StoredResource => r !== null);
  }

  /** Each resource with its usage, null for a resource that does not exist. One pipelined round trip. */
  async read(ids: number[]): Promise<(StoredResource | null)[]> {
    const { redis, keys } = this.ctx;
    if (ids.length === 0) return [];
    const rows =
      (await redis
        .pipeline(
          ids.flatMap((r) => [
            ["hmget", keys.resource(r), "name", "amount", "perMachine", "used"],
            ["hlen", keys.resourceMachines(r)],
          ]),
        )
        .exec()) ?? [];
    return ids.map((rid, i) => {
      const [name, amount, perMachine, used] = (rows[2 * i]?.[1] as (string | null)[] | undefined) ?? [];
      if (name === null || name === undefined) return null;
      const machines = Number(rows[2 * i + 1]?.[1] ?? 0);
      return {
        id: rid,
        name,
        amount: Number(amount ?? 0),
        perMachine: perMachine === "1",
        used: perMachine === "1" ? machines : Number(used ?? 0),
      };
    });
  }

  /** Defines a resource; returns its id (Conflict when the name is taken). */
  async add(name: string, amount: number, perMachine: boolean): Promise<number> {
    return Number(await this.run("addResource", [name, amount, perMachine ? 1 : 0]));
  }

  /** Changes a resource (NotFound / Conflict as lua/setResource.lua documents). */
  async set(resourceId: number, change: ResourceChange): Promise<void> {
    await this.run("setResource", [
      resourceId,
      change.amount ?? "",
      change.perMachine === undefined ? "" : change.perMachine ? "1" : "0",
      change.name ?? "",
    ]);
  }

  /** Removes a resource that no job holds (NotFound / Conflict otherwise). */
  async remove(resourceId: number): Promise<void> {
    await this.run("removeResource", [resourceId]);
  }
}
