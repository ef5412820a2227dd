// The Lua transitions the scheduler and the agent link run, through the store's loader
// (lua-scripts.ts). Every script takes ARGV prefix, now (ms), job id, … as documented at the
// top of each .lua file. Dispatch's own: moveToAssigned, requeueLost, setWaiting, releaseHold, pruneClasses.

import type { Context } from "../context.js";
import { runScript, type ScriptArg } from "./lua-scripts.js";

export type ScriptName = "moveToAssigned" | "requeueLost" | "setWaiting" | "releaseHold";

export class Scripts {
  constructor(private readonly ctx: Context) {}

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
