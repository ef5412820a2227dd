// Why queued jobs wait. A slow sweep (not the dispatch hot path) looks at the head of the queue against every
// registered client: a job no client could ever run (conditions, CPUs, platform) gets
// showBlockedClientsWarning and says so in waitingFor; the others wait for a free client. Reasons that only
// moveToAssigned knows (resources, clients on hold) are written by it and left alone here.

import type { Context } from "../context.js";
import { readClients, allClientIds, type ClientRecord } from "../store/clients.js";
import { GroupStore } from "../store/groups.js";
import { readJobFields } from "../store/job-fields.js";
import { queueHead } from "../store/queue.js";
import { satisfiesAll, type ClientFacts } from "./conditions.js";
import { readJobInfos, type JobInfo } from "./job-info.js";
import type { Scripts } from "../store/dispatch-scripts.js";

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
  const ids = await queueHead(ctx, HEAD);
  if (ids.length === 0) return;
  const clients = (await readClients(ctx, await allClientIds(ctx)))
    .filter((c): c is ClientRecord => c !== null)
    .map((c) => ({ ...c, os: c.platform, groups: groupsByClient.get(c.id) ?? new Set<string>() }));
  const infos = await readJobInfos(ctx, ids);
  const current = await readJobFields(ctx, ids, ["waitingFor", "showBlockedClientsWarning", "clientsOnHold"]);
  const writes: Promise<unknown>[] = [];
  infos.forEach((job, i) => {
    if (!job) return;
    const [waitingFor, warning, onHold] = current[i] ?? [];
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
export function readGroups(ctx: Context): Promise<Map<number, Set<string>>> {
  return new GroupStore(ctx).namesByClient();
}
