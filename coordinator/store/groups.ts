// The client-group store. Reads are pipelined; each change is one Lua script (lua/createClientGroup,
// deleteClientGroup, setGroupMembership), so a bad call changes nothing.
//
// Keys (store/keys.ts): {p}group:{id} HASH {name}, {p}group:{id}:clients SET client ids, {p}groups ZSET all
// group ids, {p}groups:byName HASH name -> id.
// Mirror for cheap reads: every change of membership rewrites the client hash field `groups` of
// {p}client:{cid} = JSON list of the client's group ids, ascending (the clients API returns it as `groups`).
// Members are listed only while they are still registered clients (a removed client drops out of `clients`).

import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";
import { runScript, type ScriptArg } from "./lua-scripts.js";

export interface StoredGroup {
  id: number;
  name: string;
  /** Registered member client ids, ascending; absent when not asked for. */
  clients?: number[];
}

export class GroupStore {
  constructor(private readonly ctx: { redis: Redis; keys: Keys }) {}

  private run(name: string, args: ScriptArg[]): Promise<unknown> {
    return runScript(this.ctx.redis, this.ctx.keys.prefix, name, args);
  }

  /** Creates a group; returns its id (Conflict when the name is taken). */
  async create(name: string): Promise<number> {
    return Number(await this.run("createClientGroup", [name]));
  }

  async delete(groupId: number): Promise<void> {
    await this.run("deleteClientGroup", [groupId]);
  }

  /** Adds the client to the group (member) or removes it; NotFound for an unknown group or client. */
  async setMembership(groupId: number, clientId: number, member: boolean): Promise<void> {
    await this.run("setGroupMembership", [groupId, clientId, member ? 1 : 0]);
  }

  /** Every group id, ascending. */
  async ids(): Promise<number[]> {
    return (await this.ctx.redis.zrange(this.ctx.keys.groups, 0, "-1")).map(Number);
  }

  async idByName(name: string): Promise<number | null> {
    const gid = await this.ctx.redis.hget(this.ctx.keys.groupsByName, name);
    return gid === null ? null : Number(gid);
  }

  /** Every group, with its members when `withClients`. */
  async all(withClients: boolean): Promise<StoredGroup[]> {
    return (await this.read(await this.ids(), withClients)).filter((g): g is StoredGroup => g !== null);
  }

  /** Each group (with its members when `withClients`), null for a group that does not exist. */
  async read(ids: number[], withClients: boolean): Promise<(StoredGroup | null)[]> {
    const { redis, keys } = this.ctx;
    if (ids.length === 0) return [];
    const names = await redis.pipeline(ids.map((g) => ["hget", keys.group(g), "name"])).exec();
    const members = withClients
      ? await redis.pipeline(ids.map((g) => ["smembers", keys.groupClients(g)])).exec()
      : null;
    const groups: (StoredGroup | null)[] = [];
    for (const [i, gid] of ids.entries()) {
      const name = names?.[i]?.[1];
      if (typeof name !== "string") {
        groups.push(null);
        continue;
      }
      const group: StoredGroup = { id: gid, name };
      if (members) group.clients = await this.registered((members[i]?.[1] as string[] | undefined) ?? []);
      groups.push(group);
    }
    return groups;
  }

  /** The given client ids that are still registered, ascending. */
  private async registered(ids: string[]): Promise<number[]> {
    if (ids.length === 0) return [];
    const scores = await this.ctx.redis.zmscore(this.ctx.keys.clients, ...ids);
    return ids
      .filter((_, i) => scores[i] !== null)
      .map(Number)
      .sort((a, b) => a - b);
  }

  /** Group names and ids (as strings) per member client id, for the scheduler's `group` conditions. */
  async namesByClient(): Promise<Map<number, Set<string>>> {
    const { redis, keys } = this.ctx;
    const ids = await redis.zrange(keys.groups, "0", "-1");
    const out = new Map<number, Set<string>>();
    if (ids.length === 0) return out;
    const pipe = redis.pipeline();
    for (const id of ids) pipe.hget(keys.group(id), "name").smembers(keys.groupClients(id));
    const replies = (await pipe.exec()) ?? [];
    ids.forEach((gid, i) => {
      const name = replies[2 * i]?.[1] as string | null;
      const members = (replies[2 * i + 1]?.[1] ?? []) as string[];
      for (const m of members) {
        const set = out.get(Number(m)) ?? new Set<string>();
        set.add(gid);
        if (name) set.add(name);
        out.set(Number(m), set);
      }
    });
    return out;
  }
}
