// The coordinator's live event stream (GET /events, Server-Sent Events: coordinator/web/event-stream.ts) as an
// async iterator: `for await (const e of hq.events({ job: 42 })) …`. Ends when the server closes the stream
// (it drops a viewer that stops reading) or `signal` aborts; rejects when the server refuses it (HTTP 401,
// 403, 429 …). Basic auth in the URL is sent as a header. Node built-ins only.

import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";

/** One event; `id` (all but `open` and `gap`) resumes a stream after it: EventFilters.lastEventId. */
export type ServerEvent = { id?: string } &
  /** The first event: from now on, what happens reaches this stream. */
  (
    | { kind: "open" }
    | { kind: "job"; jobId: number; status: string; root: number; user: string; share: string }
    | { kind: "client"; clientId: number; change: "connected" | "disconnected" | "disabled" | "enabled" }
    | { kind: "blade"; clientId: number }
    | { kind: "jobs"; added?: number; deleted?: number; priorityChanged?: number }
    | { kind: "farm" }
    /** Notices were lost (the coordinator fell behind): read what matters again through the API. */
    | { kind: "gap" }
  );

export interface EventFilters {
  /** Only this job's tree (a root's id, or one job's own id). */
  job?: number;
  /** Only jobs this user submitted (`submittedBy`). */
  user?: string;
  /** Only jobs of this share. */
  share?: string;
  /** Only these kinds. */
  types?: ServerEvent["kind"][];
  /**
   * Resume after this event (its `id`): the stream first sends what happened since, or a `gap` event when the
   * coordinator cannot tell (another coordinator's id, or too old).
   */
  lastEventId?: string;
  signal?: AbortSignal;
}

export function eventStreamUrl(serverUrl: string, filters: EventFilters = {}): URL {
  const url = new URL(serverUrl);
  url.pathname = "/events";
  url.search = "";
  if (filters.job !== undefined) url.searchParams.set("job", String(filters.job));
  if (filters.user !== undefined) url.searchParams.set("user", filters.user);
  if (filters.share !== undefined) url.searchParams.set("share", filters.share);
  if (filters.types !== undefined) url.searchParams.set("types", filters.types.join(","));
  return url;
}

/** Opens the stream: resolves with the response once the server accepted it. */
function connect(
  url: URL,
  signal: AbortSignal | undefined,
  lastEventId: string | undefined,
): Promise<IncomingMessage> {
  const headers: Record<string, string> = { accept: "text/event-stream", "user-agent": "openhq-xmlrpc" };
  if (lastEventId !== undefined) headers["last-event-id"] = lastEventId;
  if (url.username !== "" || url.password !== "") {
    const login = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    headers["authorization"] = `Basic ${Buffer.from(login).toString("base64")}`;
    url.username = "";
    url.password = "";
  }
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { headers, ...(signal ? { signal } : {}) }, (res) => {
      if (res.statusCode === 200) return resolve(res);
      res.resume();
      reject(new Error(`event stream refused: HTTP ${res.statusCode ?? "?"}`));
    });
    req.on("error", reject);
    req.end();
  });
}

/** The server's events, as they come, until it closes the stream or `filters.signal` aborts. */
export async function* followEvents(
  serverUrl: string,
  filters: EventFilters = {},
): AsyncGenerator<ServerEvent> {
  const res = await connect(eventStreamUrl(serverUrl, filters), filters.signal, filters.lastEventId);
  res.setEncoding("utf8");
  let buffer = "";
  try {
    for await (const chunk of res as AsyncIterable<string>) {
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let kind = "message";
        let data = "";
        let id: string | null = null;
        for (const line of block.split("\n")) {
          if (line.startsWith("event: ")) kind = line.slice(7);
          else if (line.startsWith("data: ")) data += line.slice(6);
          else if (line.startsWith("id: ")) id = line.slice(4);
        }
        if (data === "") continue; // a comment (keepalive) or the retry hint
        yield { kind, ...(JSON.parse(data) as object), ...(id === null ? {} : { id }) } as ServerEvent;
      }
    }
  } catch (err) {
    if (!filters.signal?.aborted) throw err;
  } finally {
    res.destroy();
  }
}
