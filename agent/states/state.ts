// The agent's life as states, one file each (like Flamenco's worker): each says what the agent does there,
// which coordinator messages it obeys, and where it goes next.
//   disconnected   no welcomed link: jobs keep running, their events are spooled; no new work.
//   awake          welcomed: takes assignments, beats, obeys terminate and upgrade.
//   shutting-down  terminate() or upgrade: refuses new work, exits once its jobs are done and acknowledged.
// agent.ts owns the link, the jobs and the journals, and answers what no state changes (acks, availability,
// a refusal); the states decide the rest.

import type { CoordinatorMessage, JobControlMessage } from "../../shared/protocol.js";

/** The messages a state decides on: assignments, terminate, upgrade, and control of a running job. */
export type StateMessage =
  Extract<CoordinatorMessage, { type: "assign" | "terminate" | "upgrade" }> | JobControlMessage;

export interface State {
  readonly name: "disconnected" | "awake" | "shutting-down";
  /** Welcomed on the current link: job events and heartbeats go out (else they wait in the spool). */
  readonly linked: boolean;
  enter(): void;
  /** The coordinator welcomed the agent (journals not resent yet); answers the state to be in. */
  welcomed(): State;
  message(message: StateMessage): void;
  linkDown(): void;
  /** terminate() on port 5001, or a terminate/upgrade message: agent.shutdown has just been set. */
  shutdownAsked(): void;
  /** wakeup() on port 5001 (or a shutdown): a heartbeat now, or a reconnect now if there is no link. */
  wakeup(): void;
  /** A job ended and its events were all acknowledged. */
  jobSettled(): void;
}
