// terminate() (or upgrade): paused jobs are cancelled, assignments are answered with a failed attempt,
// running jobs finish and still obey cancel/pause/resume. Once every job is done and acknowledged the agent
// says goodbye (terminate: the coordinator removes it from its client list) and exits, after an upgrade
// with the new build in place. A link lost before that leads to disconnected (and back here on the next
// welcome); lost while leaving, the agent leaves anyway.

import { UPGRADE_EXIT_CODE } from "../../shared/protocol.js";
import type { Agent } from "../agent.js";
import { DisconnectedState } from "./disconnected.js";
import type { State, StateMessage } from "./state.js";

export class ShuttingDownState implements State {
  readonly name = "shutting-down";
  linked = true;
  private leaving = false;

  constructor(private readonly agent: Agent) {}

  enter(): void {
    for (const job of this.agent.jobs.values()) {
      if (job.phase === "paused") void job.stop("cancelled", true);
    }
    this.check();
  }

  welcomed(): State {
    this.linked = true;
    return this;
  }

  message(message: StateMessage): void {
    switch (message.type) {
      case "assign":
        // Only a welcomed link carries work (after a loss while leaving, not yet again).
        if (this.linked) this.agent.refuseJob(message, "the agent is shutting down");
        return;
      case "terminate":
      case "upgrade":
        return; // already leaving
      default:
        return this.agent.controlJob(message);
    }
  }

  linkDown(): void {
    if (this.leaving) this.linked = false;
    else this.agent.setState(new DisconnectedState(this.agent));
  }

  shutdownAsked(): void {}

  wakeup(): void {
    if (this.linked) this.agent.beatNow();
    else this.agent.link.reconnectNow();
  }

  jobSettled(): void {
    this.check();
  }

  private check(): void {
    const shutdown = this.agent.shutdown;
    if (this.leaving || shutdown === null || this.agent.jobs.size > 0) return;
    this.leaving = true;
    void (async () => {
      if (shutdown.goodbye) await this.agent.link.send({ type: "goodbye" });
      if (shutdown.exitCode === UPGRADE_EXIT_CODE) await this.agent.upgradeSelf();
      await this.agent.exit(shutdown.exitCode);
    })();
  }
}
