// Every text a queued job's waitingFor can carry, worded here and nowhere else. The deciders (waiting.ts's
// blockedReason, the dispatcher's cap check, moveToAssigned.lua's refusals) say *why* in parts; this module
// turns the parts into the text, and says which texts are which kind when a sweep has to tell them apart.
// Lua stores only finished texts (setWaiting.lua): moveToAssigned returns its refusal's parts and the
// dispatcher words them (refusalText).

import type { ClientState } from "../../shared/client-state.js";
import type { GpuNeed } from "./gpus.js";

/** A job some registered client could run, waiting for one to be free. */
export const WAITING_FOR_CLIENT = "waiting for a free client";

/** Blocked, with no single unmet requirement to name. */
export const NO_CLIENT = "no registered client can run this job (conditions, cpus or platform)";

/** Blocked: the job needs more CPUs than the largest live blade has. */
export function needsCpus(cpus: number, largest: number): string {
  return `needs ${cpus} CPUs; largest blade has ${largest}`;
}

/** Blocked: a group condition no live blade meets (the group is unknown or empty). */
export function noBladeInGroup(group: string): string {
  return `no blade is in group ${group}`;
}

/** The states a group's busy or switched-off blades are counted in, in this order, and their words. */
const UNAVAILABLE_WORDS: [ClientState, string][] = [
  ["busy", "busy"],
  ["disabled", "disabled"],
  ["quarantined", "quarantined"],
  ["unavailable", "unavailable"],
  ["not_responding", "not responding"],
];

/**
 * Waiting, not blocked: the job's group has blades that could run it, but none is free now; `counts` says
 * how many are in each state ("no blade in group lighting is available (3 busy, 1 disabled)").
 */
export function noBladeAvailable(group: string, counts: ReadonlyMap<ClientState, number>): string {
  const parts = UNAVAILABLE_WORDS.filter(([state]) => (counts.get(state) ?? 0) > 0).map(
    ([state, word]) => `${counts.get(state)} ${word}`,
  );
  return `no blade in group ${group} is available (${parts.join(", ")})`;
}

/** Blocked: no registered blade has the GPUs the job needs; `best` is the most any blade offers. */
export function needsGpus(need: GpuNeed, best: number): string {
  const memory = need.gpuMemory > 0 ? ` with ${need.gpuMemory} MB` : "";
  const what = need.gpus === 1 ? "1 GPU" : `${need.gpus} GPUs`;
  return `needs ${what}${memory}; largest blade has ${best}`;
}

/** Whether a waitingFor text says that no registered client could ever run the job (the texts above). */
export function isBlockedText(text: string | null | undefined): boolean {
  return (
    text === NO_CLIENT ||
    (text?.startsWith("needs ") ?? false) ||
    (text?.startsWith("no blade is in group ") ?? false)
  );
}

/** A running limit that holds a run back: what moveToAssigned.lua's capRefusal and ShareBook.capRefusal find. */
export type CapRefusal =
  | { kind: "maxRunning"; job: number; running: number; limit: number }
  | { kind: "burst"; share: string; running: number; limit: number }
  | { kind: "user"; user: string; running: number; limit: number };

export function capText(cap: CapRefusal): string {
  switch (cap.kind) {
    case "maxRunning":
      return `job ${cap.job} at its maxRunning limit (${cap.running} of ${cap.limit} running)`;
    case "burst":
      return `share ${cap.share} at its burst limit (${cap.running} of ${cap.limit} slots)`;
    case "user":
      return `user ${cap.user} at the per-user running limit (${cap.running} of ${cap.limit} slots)`;
  }
}

/** A multi-host job holding `held` clients, short of its minHosts by `missing`. */
export function moreHosts(missing: number, held: number): string {
  return `waiting for ${missing} more client(s) (${held} on hold)`;
}

/** The job's resource `name` has no unit free now, or (`defined` false) no resource of that name exists. */
export function resourceText(name: string, defined: boolean): string {
  return defined ? `waiting for resources: ${name}` : `waiting for resources: ${name} is not defined`;
}

/**
 * moveToAssigned's refusals that the scheduler words (capped, resources, held), from the reply's parts after
 * its kind; null for other replies.
 */
export function refusalText(reply: readonly unknown[]): string | null {
  const [kind, a, b, c, d] = reply;
  if (kind === "held") return moreHosts(Number(b), Number(a));
  if (kind === "resources") return resourceText(String(a), b === "busy");
  if (kind !== "capped") return null;
  const running = Number(c);
  const limit = Number(d);
  if (a === "maxRunning") return capText({ kind: "maxRunning", job: Number(b), running, limit });
  if (a === "burst") return capText({ kind: "burst", share: String(b), running, limit });
  return capText({ kind: "user", user: String(b), running, limit });
}

/** The texts only moveToAssigned's refusals give (resources, running limits): a sweep leaves them be. */
const REFUSAL_TEXT =
  /^(waiting for resources|share \S+ at its burst limit|user .+ at the per-user running limit|job \d+ at its maxRunning limit)/;

export function isRefusalText(text: string | null | undefined): boolean {
  return text !== null && text !== undefined && REFUSAL_TEXT.test(text);
}
