// One definition of a client's state, used by the dashboard, the CLI and /metrics (they used to compute it
// three ways and disagree: "busy" on the dashboard, "available" in the CLI).
//
//   not_responding  the server's `responding` attribute is false: the agent's link is down (process gone,
//                   machine off) or no heartbeat came for two heartbeat intervals (frozen); the server
//                   applies the rule (coordinator/liveness.ts), so every reader agrees — checked first, the
//                   other flags are stale then
//   disabled        switched off by an administrator
//   quarantined     taken off the farm for failing frames that succeed elsewhere (docs/DESIGN.md "Bad blades")
//   unavailable     its availability rules (or the agent) say no new work now
//   busy            available and running at least one job
//   idle            available and running nothing

export const CLIENT_STATES = ["busy", "idle", "unavailable", "disabled", "not_responding", "quarantined"] as const;
export type ClientState = (typeof CLIENT_STATES)[number];

/** What the state is computed from: the getClients attributes of the same names. */
export interface ClientStateInput {
  responding?: boolean;
  disabled?: boolean;
  available?: boolean;
  quarantined?: boolean;
  runningJobs?: readonly number[];
}

/** The attributes to ask getClients for, to compute the state. */
export const CLIENT_STATE_ATTRIBUTES = ["responding", "disabled", "quarantined", "available", "runningJobs"];

export function clientState(c: ClientStateInput): ClientState {
  if (c.responding === false) return "not_responding";
  if (c.disabled) return "disabled";
  if (c.quarantined) return "quarantined";
  if (c.available === false) return "unavailable";
  return Array.isArray(c.runningJobs) && c.runningJobs.length > 0 ? "busy" : "idle";
}
