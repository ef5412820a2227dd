// No link to the coordinator. Running jobs carry on; their output and events wait in the spool.

import type { Agent } from "../agent.js";
import type { State } from "./state.js";
import { AwakeState } from "./awake.js";
import { ShuttingDownState } from "./shutting-down.js";

export class DisconnectedState implements State {
  readonly name = "disconnected";

  constructor(private readonly agent: Agent) {}

  enter(): void {
    if (this.agent.jobs.size > 0) {
      this.agent.log.warn(`link down; ${this.agent.jobs.size} job(s) keep running, their output is spooled`);
    }
  }

  message(): void {}

  linkUp(): void {
    this.agent.setState(this.agent.shutdown ? new ShuttingDownState(this.agent) : new AwakeState(this.agent));
  }

  linkDown(): void {}

  jobSettled(): void {}
}
