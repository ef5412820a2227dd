// Linked and taking work: assignments start jobs; terminate and upgrade lead to shutting-down.

import type { CoordinatorMessage } from "../../shared/protocol.js";
import { UPGRADE_EXIT_CODE } from "../../shared/protocol.js";
import type { Agent } from "../agent.js";
import { DisconnectedState } from "./disconnected.js";
import type { State } from "./state.js";

export class AwakeState implements State {
  readonly name = "awake";

  constructor(private readonly agent: Agent) {}

  enter(): void {}

  message(message: CoordinatorMessage): void {
    if (message.type === "assign") this.agent.startJob(message);
    else if (message.type === "terminate") this.agent.beginShutdown(0, true);
    else if (message.type === "upgrade") this.agent.beginShutdown(UPGRADE_EXIT_CODE, false);
  }

  linkUp(): void {}

  linkDown(): void {
    this.agent.setState(new DisconnectedState(this.agent));
  }

  jobSettled(): void {}
}
