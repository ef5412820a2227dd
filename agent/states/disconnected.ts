// No welcomed link to the coordinator (at start, and after every link loss). Running jobs carry on; their
// output and events wait in the spool. Cancel, pause and resume of a running job are obeyed as soon as a
// link carries them; assignments, terminate and upgrade only count once welcomed. A shutdown asked for
// meanwhile (terminate() on port 5001) takes effect at the next welcome.

import type { Agent } from "../agent.js";
import { AwakeState } from "./awake.js";
import { ShuttingDownState } from "./shutting-down.js";
import type { State, StateMessage } from "./state.js";

export class DisconnectedState implements State {
  readonly name = "disconnected";
  readonly linked = false;

  constructor(private readonly agent: Agent) {}

  enter(): void {
    if (this.agent.jobs.size > 0) {
      this.agent.log.warn(`link down; ${this.agent.jobs.size} job(s) keep running, their output is spooled`);
    }
  }

  welcomed(): State {
    return this.agent.shutdown !== null ? new ShuttingDownState(this.agent) : new AwakeState(this.agent);
  }

  message(message: StateMessage): void {
    switch (message.type) {
      case "assign":
      case "terminate":
      case "upgrade":
        return; // work and orders count only on a welcomed link
      default:
        return this.agent.controlJob(message);
    }
  }

  linkDown(): void {}

  shutdownAsked(): void {}

  wakeup(): void {
    this.agent.link.reconnectNow();
  }

  jobSettled(): void {}
}
