// Follows a job's output live over the dashboard's WebSocket (ws://server/ws/output/<jobId>), the same
// stream the job page shows. Messages, server -> client, JSON text frames:
//   {type:"output", data}                  text appended to the output (the first one is what exists so far)
//   {type:"reset"}                         the stored output was replaced (new attempt): start over
//   {type:"status", status, progress}      the job's status or progress changed
//   {type:"end", status}                   the job is finished; the server closes the socket after this
//   {type:"error", message}                e.g. no such job; the server closes the socket after this

import WebSocket from "ws";

export type OutputEvent =
  | { type: "output"; data: string }
  | { type: "reset" }
  | { type: "status"; status: string; progress: number }
  | { type: "end"; status: string }
  | { type: "error"; message: string };

export function outputStreamUrl(serverUrl: string, jobId: number, tailBytes?: number): string {
  const url = new URL(serverUrl);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.pathname = `/ws/output/${jobId}`;
  url.search = tailBytes === undefined ? "" : `?tail=${tailBytes}`;
  return url.toString();
}

/**
 * Calls `onEvent` for each message until the job ends (resolves with its final status) or the stream
 * fails (rejects). Basic auth in `serverUrl` is sent on the upgrade request.
 */
export function followOutput(
  serverUrl: string,
  jobId: number,
  onEvent: (event: OutputEvent) => void,
  options: { tailBytes?: number; signal?: AbortSignal } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(outputStreamUrl(serverUrl, jobId, options.tailBytes), {
      perMessageDeflate: false,
    });
    let finalStatus: string | null = null;
    let failure: Error | null = null;
    options.signal?.addEventListener("abort", () => socket.close());
    socket.on("message", (raw) => {
      let event: OutputEvent;
      try {
        event = JSON.parse(String(raw)) as OutputEvent;
      } catch {
        failure = new Error("output stream: unreadable message");
        socket.terminate();
        return;
      }
      if (event.type === "end") finalStatus = event.status;
      if (event.type === "error") failure = new Error(event.message);
      onEvent(event);
    });
    socket.on("unexpected-response", (_req, res) => {
      failure = new Error(`output stream refused: HTTP ${res.statusCode}`);
      socket.terminate();
    });
    socket.on("error", (err) => {
      failure ??= err;
    });
    socket.on("close", () => {
      if (finalStatus !== null) resolve(finalStatus);
      else if (options.signal?.aborted) resolve("aborted");
      else reject(failure ?? new Error("output stream closed before the job finished"));
    });
  });
}
