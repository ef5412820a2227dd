// GET /jobs/<id>/log[?attempt=N]: one attempt's whole output as a text/plain download (the latest attempt
// by default), streamed from the job log store, so a log of any size costs a small buffer, not its size.
// Every attempt of a retried job stays readable this way.

import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import type { Context } from "../context.js";

export async function sendLog(
  ctx: Context,
  req: IncomingMessage,
  res: ServerResponse,
  jobId: number,
  attemptText: string | null,
): Promise<void> {
  const attempt = attemptText !== null && /^\d{1,9}$/.test(attemptText) ? Number(attemptText) : null;
  const view = await ctx.logs.view(jobId, attempt);
  if (!view) {
    res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end(`job ${jobId} does not exist\n`);
    return;
  }
  const name = `job-${jobId}-attempt-${view.attempt}.log`;
  const headers = {
    "content-type": "text/plain; charset=utf-8",
    "content-disposition": `attachment; filename="${name}"`,
    "cache-control": "no-store",
    "x-log-bytes": String(view.bytes),
    ...(view.sha256 ? { "x-log-sha256": view.sha256 } : {}),
  };
  res.writeHead(200, { ...headers, "content-length": view.kind === "none" ? 0 : view.bytes });
  if (req.method === "HEAD" || view.kind === "none") {
    res.end();
    return;
  }
  await pipeline(ctx.logs.stream(view), res);
}
