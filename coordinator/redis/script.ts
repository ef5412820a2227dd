// A Lua script run with EVALSHA (falling back to EVAL once per Redis restart), so each multi-key change is
// one atomic step. Convention for the small scripts of the notes, groups and resources APIs: a script that
// refuses answers {"fault", code, message}, which run() turns into an XML-RPC Fault; nothing was changed.

import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { Fault } from "../../shared/xmlrpc/types.js";

export type ScriptArg = string | number;

export class LuaScript {
  private readonly sha: string;

  constructor(private readonly source: string) {
    this.sha = createHash("sha1").update(source).digest("hex");
  }

  async run(redis: Redis, keys: string[], args: ScriptArg[]): Promise<unknown> {
    let reply: unknown;
    try {
      reply = await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
      reply = await redis.eval(this.source, keys.length, ...keys, ...args);
    }
    if (Array.isArray(reply) && reply[0] === "fault") {
      throw new Fault(Number(reply[1]), String(reply[2]));
    }
    return reply;
  }
}
