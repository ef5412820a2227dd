// terminate() (or upgrade): paused jobs are cancelled, no new jobs are taken, running jobs finish. Once every
// job is done and acknowledged the agent says goodbye (terminate: the coordinator removes it from its client
// list) and exits.

import type { CoordinatorMessage } from "../../shared/protocol.js";
import { UPGRADE_EXIT_CODE } from "../../shared/protocol.js";
import type { Agent } from "../agent.js";
import { DisconnectedState } from "./disconnected.js";
import type { State } from "./state.js";

export class ShuttingDownState implements State {
  readonly name = "shutting-down";
  private leaving = false;

  constructor(private readonly agent: Agent) {}

  enter(): void {
    for (const job of this.agent.jobs.values()) {
      if (job.phase === "paused") void job.stop("cancelled", true);
    }
    this.check();
  }

  message(message: CoordinatorMessage): void {
    if (message.type === "assign") this.agent.refuseJob(message, "the agent is shutting down");
  }

  linkUp(): void {}

  linkDown(): void {
    if (!this.leaving) this.agent.setState(new DisconnectedState(this.agent));
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
