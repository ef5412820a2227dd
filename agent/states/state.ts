// The agent's life as states, one file each (like Flamenco's worker): disconnected (no link: jobs keep
// running, events are spooled), awake (linked: takes work, beats), shutting-down (terminate() or upgrade:
// takes no new work, exits once its jobs are done and acknowledged).

import type { CoordinatorMessage } from "../../shared/protocol.js";

export interface State {
  readonly name: "disconnected" | "awake" | "shutting-down";
  enter(): void;
  /** Messages that depend on the state (assign, terminate, upgrade); the rest the agent handles itself. */
  message(message: CoordinatorMessage): void;
  /** The coordinator welcomed the agent. */
  linkUp(): void;
  linkDown(): void;
  /** A job ended and its events were all acknowledged. */
  jobSettled(): void;
}
