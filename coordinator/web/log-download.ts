// GET /jobs/<id>/log[?attempt=N]: one attempt's whole output as a text/plain download (the latest attempt
// by default), streamed from the job log store, so a log of any size costs a small buffer, not its size.
// Every attempt of a retried job stays readable this way.

import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import type { Context } from "../context.js";
import type { LogView } from "../store/logs.js";

/** Logs up to this size are read whole before the reply starts, so a failed read is still a clean answer. */
const READ_WHOLE_BYTES = 4 * 1024 * 1024;

export async function sendLog(
  ctx: Context,
  req: IncomingMessage,
  res: ServerResponse,
  jobId: number,
  attemptText: string | null,
): Promise<void> {
  const attempt = attemptText !== null && /^\d{1,9}$/.test(attemptText) ? Number(attemptText) : null;
  let view = await ctx.logs.view(jobId, attempt);
  if (!view) {
    res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end(`job ${jobId} does not exist\n`);
    return;
  }
  if (req.method === "HEAD" || view.kind === "none" || view.bytes > READ_WHOLE_BYTES) {
    res.writeHead(200, { ...headersOf(view), "content-length": view.kind === "none" ? 0 : view.bytes });
    if (req.method === "HEAD" || view.kind === "none") res.end();
    else await pipeline(ctx.logs.stream(view), res);
    return;
  }
  let body: Buffer;
  try {
    body = await ctx.logs.read(view);
  } catch (err) {
    // A log sealed between the view and the read (its file part grew, its Redis part went): read it again.
    void ctx.recordError({
      message: `log download of job ${jobId}: read again after ${(err as Error).message}`,
      time: Date.now(),
    });
    view = (await ctx.logs.view(jobId, view.attempt)) ?? view;
    body = await ctx.logs.read(view);
  }
  res.writeHead(200, { ...headersOf(view), "content-length": body.length }).end(body);
}

function headersOf(view: LogView): Record<string, string> {
  return {
    "content-type": "text/plain; charset=utf-8",
    "content-disposition": `attachment; filename="job-${view.jobId}-attempt-${view.attempt}.log"`,
    "cache-control": "no-store",
    "x-log-bytes": String(view.bytes),
    ...(view.sha256 ? { "x-log-sha256": view.sha256 } : {}),
  };
}
