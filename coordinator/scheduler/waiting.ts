// Why queued jobs wait. A slow sweep (not the dispatch hot path) looks at the head of the queue against every
// registered client: a job no client could ever run (conditions, CPUs, platform, GPUs) gets
// showBlockedClientsWarning and says so in waitingFor (what is missing, for GPUs); the others wait for a free client. Reasons that only
// moveToAssigned knows (resources, clients on hold) are written by it and left alone here. The rest of the
// queue is kept true class by class (class-reasons.ts).

import type { Context } from "../context.js";
import { GroupStore } from "../store/groups.js";
import { readJobFields } from "../store/job-fields.js";
import { queueHead } from "../store/queue.js";
import { satisfies, satisfiesAll, type ClientFacts } from "./conditions.js";
import { usableGpus } from "./gpus.js";
import { readJobInfos, type JobInfo } from "./job-info.js";
import { clientStates } from "../store/client-list.js";
import { groupWait, groupWaitText, type GroupWait } from "./group-wait.js";
import type { Scripts } from "../store/dispatch-scripts.js";
import {
  isRefusalText,
  needsCpus,
  needsGpus,
  noBladeInGroup,
  NO_CLIENT,
  WAITING_FOR_CLIENT,
} from "./waiting-reasons.js";

const HEAD = 500;
/** The job fields a reason is decided against (reasonFor). */
export const REASON_FIELDS = ["waitingFor", "showBlockedClientsWarning", "clientsOnHold"] as const;

/** A registered client as the waiting reasons see it (any coordinator's, connected or not). */
export type RegisteredClient = ClientFacts & { id: number; terminated: boolean; cpus: number };

export function couldEverRun(job: JobInfo, client: RegisteredClient): boolean {
  if (client.terminated || client.cpus < job.cpus) return false;
  if (job.platforms !== null && !job.platforms.includes(client.os)) return false;
  if (usableGpus(client.gpuDevices ?? [], job).length < job.gpus) return false;
  return satisfiesAll(client, job.conditions);
}

/**
 * Why no registered client could ever run `job`, or null when one could: the unmet requirement where one
 * alone rules out every blade ("needs 64 CPUs; largest blade has 16", "no blade is in group gpu_blades",
 * "needs 2 GPUs with 16000 MB; largest blade has 1"), else NO_CLIENT.
 */
export function blockedReason(job: JobInfo, clients: readonly RegisteredClient[]): string | null {
  if (clients.some((c) => couldEverRun(job, c))) return null;
  const live = clients.filter((c) => !c.terminated);
  const largest = Math.max(0, ...live.map((c) => c.cpus));
  if (live.length > 0 && job.cpus > largest) return needsCpus(job.cpus, largest);
  // A group condition no blade meets on its own: the group is unknown or empty (HQueue accepts such jobs).
  for (const condition of job.conditions) {
    if (condition.name === "group" && ["==", "in", "any"].includes(condition.op)) {
      if (!live.some((c) => satisfies(c, condition))) return noBladeInGroup(condition.value);
    }
  }
  if (job.gpus > 0) {
    const anyGpus = { ...job, gpus: 0 };
    const best = clients
      .filter((c) => couldEverRun(anyGpus, c))
      .map((c) => usableGpus(c.gpuDevices ?? [], job).length);
    if (best.length > 0) return needsGpus(job, Math.max(...best));
  }
  return NO_CLIENT;
}

/**
 * The reason a queued job should carry, given why no registered client could ever run it (blockedReason;
 * null when one could) and its REASON_FIELDS now; null when it already carries it.
 */
export function reasonFor(
  blocked: string | null,
  current: (string | null)[] | null,
  /** what an unblocked job waits for (the head sweep's group counts, group-wait.ts) */
  waiting = WAITING_FOR_CLIENT,
): string | null {
  const [waitingFor, warning, onHold] = current ?? [];
  let text = blocked ?? waiting;
  // moveToAssigned's own reasons (resources, hosts on hold) stay while the job could run somewhere.
  if (blocked === null && (onHold || isRefusalText(waitingFor))) {
    text = waitingFor ?? text;
  }
  return text !== (waitingFor ?? "") || (blocked !== null) !== (warning === "1") ? text : null;
}

export async function sweepWaiting(
  ctx: Context,
  scripts: Scripts,
  clients: RegisteredClient[],
): Promise<void> {
  const ids = await queueHead(ctx, HEAD);
  if (ids.length === 0) return;
  const infos = await readJobInfos(ctx, ids);
  const current = await readJobFields(ctx, ids, REASON_FIELDS);
  // Per requirement class (the same for each of its jobs): blocked or not, and the group it waits on.
  const verdicts = new Map<string, { blocked: string | null; group: GroupWait | null }>();
  const verdictOf = (job: JobInfo) => {
    let verdict = verdicts.get(job.cls);
    if (verdict === undefined) {
      const blocked = blockedReason(job, clients);
      const group = blocked === null ? groupWait(job, clients, (c) => couldEverRun(job, c)) : null;
      verdict = { blocked, group };
      verdicts.set(job.cls, verdict);
    }
    return verdict;
  };
  const judged = infos.map((job) => (job ? { job, ...verdictOf(job) } : null));
  // The states now of the members of the groups jobs wait on, each member read once.
  const members = new Set(judged.flatMap((j) => j?.group?.ids ?? []));
  const states =
    members.size === 0
      ? new Map()
      : await clientStates(ctx.redis, ctx.keys, [...members], Date.now(), ctx.settings.heartbeatIntervalMs);
  const writes: Promise<unknown>[] = [];
  judged.forEach((j, i) => {
    if (!j) return;
    const waiting = j.group === null ? WAITING_FOR_CLIENT : groupWaitText(j.group, states);
    const text = reasonFor(j.blocked, current[i] ?? null, waiting);
    if (text !== null) writes.push(scripts.run("setWaiting", j.job.id, text, j.blocked !== null ? 1 : 0));
  });
  await Promise.all(writes);
}

/** Group names and ids (as strings) per client id, for `group` conditions. */
export function readGroups(ctx: Context): Promise<Map<number, Set<string>>> {
  return new GroupStore(ctx).namesByClient();
}
