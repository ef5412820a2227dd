// The precise reason of a job some blade could run but none takes now, when its conditions name a group:
// "no blade in group lighting is available (3 busy, 1 disabled)". Decided by the waiting sweep (waiting.ts,
// at its pace), never on the dispatch path: the group's members that could ever run the job come from the
// registered clients the sweep holds anyway, and only their states now are read, fresh from Redis
// (store/client-list.ts clientStates, the Clients page's rule), once per member per sweep: the cost is
// bounded by the size of the groups that queued jobs at the head of the queue name.

import type { ClientState } from "../../shared/client-state.js";
import { satisfies } from "./conditions.js";
import type { JobInfo } from "./job-info.js";
import type { RegisteredClient } from "./waiting.js";
import { noBladeAvailable, WAITING_FOR_CLIENT } from "./waiting-reasons.js";

/** The operators with which a group condition asks for membership. */
const MEMBERSHIP_OPS = ["==", "in", "any"];

/** A job's group and the members of it that could ever run the job. */
export interface GroupWait {
  group: string;
  ids: number[];
}

/**
 * The group a job's conditions name and those of its members among `clients` that could ever run the job
 * (`canRun`, asked of the members only); null when the job names no group or no member could run it.
 */
export function groupWait(
  job: JobInfo,
  clients: readonly RegisteredClient[],
  canRun: (client: RegisteredClient) => boolean,
): GroupWait | null {
  const condition = job.conditions.find(
    (c) => c.name === "group" && MEMBERSHIP_OPS.includes(c.op) && (c.type ?? "client") === "client",
  );
  if (condition === undefined) return null;
  const ids = clients.filter((c) => satisfies(c, condition) && canRun(c)).map((c) => c.id);
  return ids.length === 0 ? null : { group: condition.value, ids };
}

/**
 * What a job of `wait` waits for, given its members' states now: the count of each state when none of them
 * is idle, else a free client (one is free, and dispatch gives it the next job it can run).
 */
export function groupWaitText(wait: GroupWait, states: ReadonlyMap<number, ClientState>): string {
  const counts = new Map<ClientState, number>();
  for (const id of wait.ids) {
    const state = states.get(id);
    if (state === undefined) continue;
    if (state === "idle") return WAITING_FOR_CLIENT;
    counts.set(state, (counts.get(state) ?? 0) + 1);
  }
  return counts.size === 0 ? WAITING_FOR_CLIENT : noBladeAvailable(wait.group, counts);
}
