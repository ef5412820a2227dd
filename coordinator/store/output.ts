// The live output reader (readOutput.lua) for the job page's WebSocket and `openhq tail -f`
// (coordinator/web/output-socket.ts): the next piece of a job's output, text and offsets read in one step.

import type { Context } from "../context.js";
import { runScript } from "./lua-scripts.js";

/**
 * readOutput.lua from byte `sent` of `attempt` ("" = none yet), at most `maxBytes` of text: null when the job
 * does not exist, else {status, progress, attempt, newSent, skipped, text, base, z, n} as bytes (the .lua file
 * says what each is).
 */
export async function readOutputPiece(
  ctx: Context,
  jobId: number,
  sent: number,
  attempt: string,
  maxBytes: number,
): Promise<Buffer[] | null> {
  const reply = await runScript(
    ctx.redis,
    ctx.keys.prefix,
    "readOutput",
    [jobId, sent, attempt, maxBytes],
    "buffers",
  );
  return Array.isArray(reply) ? (reply as Buffer[]) : null;
}
