// Live job output over WebSocket at /ws/output/<jobId>[?tail=BYTES] (protocol: shared/client/output-stream.ts),
// for the job page and `openhq tail -f`. The public API has no "output since byte N" call, so this reads the
// job's output key and its fields (store/jobs.ts: outAttempt, outBytes, outHead) in one small read-only Lua
// script, so the text and its byte count always agree. One 250 ms poll per open socket: a handful of viewers
// cost a few tiny Redis round trips per second, and nothing at all when nobody watches.

import { createHash } from "node:crypto";
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { WebSocketServer, type WebSocket } from "ws";
import { FINISHED_STATUSES, type JobStatus } from "../../shared/statuses.js";
import type { OutputEvent } from "../../shared/client/output-stream.js";
import { authFor } from "../auth.js";
import type { Context } from "../context.js";

const PATH = /^\/ws\/output\/(\d+)$/;
const POLL_MS = 250;
/** Largest piece read per poll; a faster producer is caught up over the next polls. */
const MAX_READ_BYTES = 1024 * 1024;
const DEFAULT_INITIAL_TAIL = 4 * 1024 * 1024;

export interface WebSockets {
  close(): Promise<void>;
}

// KEYS: job hash, output key. ARGV: sent (stream offset; negative = that many bytes before the end), attempt
// the caller has, max bytes. Stream offsets count every byte the attempt produced (outBytes); once capped the
// key holds stream [0, outHead) and the newest bytes, so the gap is reported as `skipped`.
// Returns false (no job) or {status, progress, attempt, newSent, skipped, text}.
const READ = `
local f = redis.call('HMGET', KEYS[1], 'status', 'progress', 'outAttempt', 'outBytes', 'outHead')
if not f[1] then return false end
local attempt = f[3] or ''
local bytes = tonumber(f[4] or '0') or 0
local sent = tonumber(ARGV[1])
local max = tonumber(ARGV[3])
if attempt ~= ARGV[2] and sent >= 0 then sent = 0 end
local skipped = 0
if sent < 0 then
  sent = math.max(0, bytes + sent)
  skipped = sent
end
local len = redis.call('STRLEN', KEYS[2])
local head = tonumber(f[5] or '')
local text = ''
if sent < bytes then
  if not head or sent < head then
    local stop = sent + max - 1
    if head then stop = math.min(stop, head - 1) end
    text = redis.call('GETRANGE', KEYS[2], sent, stop)
    sent = sent + #text
  end
  if head and sent >= head and sent < bytes then
    local tailStart = bytes - (len - head)
    if sent < tailStart then
      skipped = skipped + (tailStart - sent)
      sent = tailStart
    end
    local off = head + (sent - tailStart)
    local more = redis.call('GETRANGE', KEYS[2], off, off + max - 1 - #text)
    text = text .. more
    sent = sent + #more
  end
end
return {f[1], f[2] or '0', attempt, tostring(sent), tostring(skipped), text}
`;
const READ_SHA = createHash("sha1").update(READ).digest("hex");

interface Piece {
  status: string;
  progress: number;
  attempt: string;
  sent: number;
  skipped: number;
  text: Buffer;
}

async function read(ctx: Context, jobId: number, sent: number, attempt: string): Promise<Piece | null> {
  const args = [ctx.keys.job(jobId), ctx.keys.jobOutput(jobId), sent, attempt, MAX_READ_BYTES];
  let reply: unknown;
  try {
    reply = await ctx.redis.callBuffer("EVALSHA", READ_SHA, 2, ...args);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
    reply = await ctx.redis.callBuffer("EVAL", READ, 2, ...args);
  }
  if (!Array.isArray(reply)) return null;
  const [status, progress, att, newSent, skipped, text] = reply as Buffer[];
  return {
    status: String(status),
    progress: Number(String(progress)),
    attempt: String(att),
    sent: Number(String(newSent)),
    skipped: Number(String(skipped)),
    text: text ?? Buffer.alloc(0),
  };
}

function follow(ctx: Context, socket: WebSocket, jobId: number, initialTail: number): void {
  const send = (event: OutputEvent): void => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(event));
  };
  let decoder = new StringDecoder("utf8");
  let attempt: string | null = null;
  let sent = -initialTail;
  let status = "";
  let progress = -1;
  let timer: NodeJS.Timeout | null = null;
  let busy = false;

  const tick = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      const piece = await read(ctx, jobId, sent, attempt ?? "");
      if (!piece) {
        send({ type: "error", message: `job ${jobId} does not exist` });
        socket.close();
        return;
      }
      if (attempt !== null && piece.attempt !== attempt) {
        send({ type: "reset" });
        decoder = new StringDecoder("utf8");
      }
      attempt = piece.attempt;
      if (piece.skipped > 0) {
        decoder = new StringDecoder("utf8");
        send({ type: "output", data: `[… ${piece.skipped} bytes not shown …]\n` });
      }
      sent = piece.sent;
      const data = decoder.write(piece.text);
      if (data !== "") send({ type: "output", data });
      if (piece.status !== status || piece.progress !== progress) {
        status = piece.status;
        progress = piece.progress;
        send({ type: "status", status, progress });
      }
      // A finished job's output is complete (its last chunks are applied before it finishes).
      if (FINISHED_STATUSES.includes(status as JobStatus) && piece.text.length < MAX_READ_BYTES) {
        const rest = decoder.end();
        if (rest !== "") send({ type: "output", data: rest });
        send({ type: "end", status });
        socket.close();
      }
    } catch (err) {
      send({ type: "error", message: (err as Error).message });
      socket.close();
    } finally {
      busy = false;
    }
  };

  socket.on("close", () => {
    if (timer) clearInterval(timer);
  });
  void tick().then(() => {
    if (socket.readyState === socket.OPEN) timer = setInterval(() => void tick(), POLL_MS);
  });
}

/** Handles WebSocket upgrades on /ws/*; leaves every other path (the agent link's /agent) alone. */
export function attachWebSockets(server: Server, ctx: Context): WebSockets {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const auth = authFor(ctx);
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (!url.pathname.startsWith("/ws/")) return;
    const match = PATH.exec(url.pathname);
    const verdict = auth.check(req, false);
    if (!match || !verdict.ok) {
      const status = !match ? "404 Not Found" : verdict.ok ? "200 OK" : `${verdict.status} Unauthorized`;
      socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    const tail = url.searchParams.get("tail");
    const tailBytes = tail !== null && /^\d+$/.test(tail) ? Number(tail) : DEFAULT_INITIAL_TAIL;
    wss.handleUpgrade(req, socket, head, (ws) => follow(ctx, ws, Number(match[1]), tailBytes));
  };
  server.on("upgrade", onUpgrade);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.off("upgrade", onUpgrade);
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}
