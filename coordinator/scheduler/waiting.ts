// Why queued jobs wait. A slow sweep (not the dispatch hot path) looks at the head of the queue against every
// registered client: a job no client could ever run (conditions, CPUs, platform) gets
// showBlockedClientsWarning and says so in waitingFor; the others wait for a free client. Reasons that only
// moveToAssigned knows (resources, clients on hold) are written by it and left alone here.

import type { Context } from "../context.js";
import { readClients, allClientIds, type ClientRecord } from "../store/clients.js";
import { satisfiesAll, type ClientFacts } from "./conditions.js";
import { readJobInfos, type JobInfo } from "./job-info.js";
import type { Scripts } from "./dispatch-scripts.js";

const HEAD = 500;
export const WAITING_FOR_CLIENT = "waiting for a free client";
export const NO_CLIENT = "no registered client can run this job (conditions, cpus or platform)";

/** A registered client as the waiting reasons see it (any coordinator's, connected or not). */
export type RegisteredClient = ClientFacts & { terminated: boolean; cpus: number };

export function couldEverRun(job: JobInfo, client: RegisteredClient): boolean {
  if (client.terminated || client.cpus < job.cpus) return false;
  if (job.platforms !== null && !job.platforms.includes(client.os)) return false;
  return satisfiesAll(client, job.conditions);
}

export async function sweepWaiting(
  ctx: Context,
  scripts: Scripts,
  groupsByClient: Map<number, Set<string>>,
): Promise<void> {
  const ids = (await ctx.redis.zrange(ctx.keys.queue, "0", String(HEAD - 1))).map(Number);
  if (ids.length === 0) return;
  const clients = (await readClients(ctx, await allClientIds(ctx)))
    .filter((c): c is ClientRecord => c !== null)
    .map((c) => ({ ...c, os: c.platform, groups: groupsByClient.get(c.id) ?? new Set<string>() }));
  const infos = await readJobInfos(ctx, ids);
  const pipe = ctx.redis.pipeline();
  for (const id of ids)
    pipe.hmget(ctx.keys.job(id), "waitingFor", "showBlockedClientsWarning", "clientsOnHold");
  const current = (await pipe.exec()) ?? [];
  const writes: Promise<unknown>[] = [];
  infos.forEach((job, i) => {
    if (!job) return;
    const [waitingFor, warning, onHold] = (current[i]?.[1] ?? []) as (string | null)[];
    const blocked = !clients.some((c) => couldEverRun(job, c));
    let text = blocked ? NO_CLIENT : WAITING_FOR_CLIENT;
    // moveToAssigned's own reasons (resources, hosts on hold) stay while the job could run somewhere.
    if (!blocked && (onHold || (waitingFor && waitingFor.startsWith("waiting for resources")))) {
      text = waitingFor ?? text;
    }
    if (text !== (waitingFor ?? "") || blocked !== (warning === "1"))
      writes.push(scripts.run("setWaiting", job.id, text, blocked ? 1 : 0));
  });
  await Promise.all(writes);
}

/** Group names and ids (as strings) per client id, for `group` conditions. */
export async function readGroups(ctx: Context): Promise<Map<number, Set<string>>> {
  const ids = await ctx.redis.zrange(ctx.keys.groups, "0", "-1");
  const out = new Map<number, Set<string>>();
  if (ids.length === 0) return out;
  const pipe = ctx.redis.pipeline();
  for (const id of ids) pipe.hget(ctx.keys.group(id), "name").smembers(ctx.keys.groupClients(id));
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
