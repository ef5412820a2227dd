// Welcomed and taking work: an assignment starts a job, cancel/pause/resume reach it, terminate and upgrade
// (or terminate() on port 5001) lead to shutting-down, a lost link to disconnected.

import { UPGRADE_EXIT_CODE } from "../../shared/protocol.js";
import type { Agent } from "../agent.js";
import { DisconnectedState } from "./disconnected.js";
import { ShuttingDownState } from "./shutting-down.js";
import type { State, StateMessage } from "./state.js";

export class AwakeState implements State {
  readonly name = "awake";
  readonly linked = true;

  constructor(private readonly agent: Agent) {}

  enter(): void {}

  welcomed(): State {
    return this;
  }

  message(message: StateMessage): void {
    switch (message.type) {
      case "assign":
        return this.agent.startJob(message);
      case "terminate":
        return this.agent.beginShutdown(0, true);
      case "upgrade":
        return this.agent.beginShutdown(UPGRADE_EXIT_CODE, false);
      default:
        return this.agent.controlJob(message);
    }
  }

  linkDown(): void {
    this.agent.setState(new DisconnectedState(this.agent));
  }

  shutdownAsked(): void {
    this.agent.setState(new ShuttingDownState(this.agent));
  }

  wakeup(): void {
    this.agent.beatNow();
  }

  jobSettled(): void {}
}
