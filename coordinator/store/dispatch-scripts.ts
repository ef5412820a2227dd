// The Lua transitions the scheduler and the agent link run, through the store's loader
// (lua-scripts.ts). Every script takes ARGV prefix, now (ms), job id, … as documented at the
// top of each .lua file. Dispatch's own: moveToAssigned, requeueLost, setWaiting, releaseHold, pruneClasses.

import type { Context } from "../context.js";
import { runScript, ScriptBatch, type ScriptArg } from "./lua-scripts.js";

export type ScriptName = "requeueLost" | "setWaiting" | "releaseHold";

/** moveToAssigned.lua's reply for one job: ["assigned", attempt, fields...] or a refusal's parts. */
export type AssignReply = (string | number | string[])[];

export class Scripts {
  /** The assignments of one tick (a dispatch pass issues them without waiting) go in one call. */
  private readonly assigns: ScriptBatch;

  constructor(private readonly ctx: Pick<Context, "redis" | "keys">) {
    this.assigns = new ScriptBatch(ctx.redis, ctx.keys.prefix, "moveToAssigned");
  }

  /** moveToAssigned.lua: `jobId` to `clientIds` (or the clients on hold for it), or why not. */
  moveToAssigned(jobId: number, clientIds: number[]): Promise<AssignReply> {
    return this.assigns.call([jobId, ...clientIds]) as Promise<AssignReply>;
  }

  run(name: ScriptName, jobId: number, ...rest: ScriptArg[]): Promise<unknown> {
    return runScript(this.ctx.redis, this.ctx.keys.prefix, name, [jobId, ...rest]);
  }

  /** pruneClasses.lua: refreshes {p}queue:heads for these classes, dropping the empty ones. */
  async pruneClasses(classes: string[]): Promise<number> {
    if (classes.length === 0) return 0;
    return (await runScript(this.ctx.redis, this.ctx.keys.prefix, "pruneClasses", classes)) as number;
  }

  /** farmAlive.lua: stamps this coordinator's liveness; returns how many clients got a fresh timeout. */
  async farmAlive(gapMs: number): Promise<number> {
    return (await runScript(this.ctx.redis, this.ctx.keys.prefix, "farmAlive", [gapMs])) as number;
  }
}
