// Live job output over WebSocket at /ws/output/<jobId>[?tail=BYTES] (protocol: shared/client/output-stream.ts),
// for the job page and `openhq tail -f`. The public API has no "output since byte N" call, so this reads the
// job's output with the store's read-only readOutput.lua, so the text and its byte count always agree; the
// part of a log already in the file store (coordinator/logs) is read from there. One 250 ms poll per open
// socket: a handful of viewers cost a few tiny Redis round trips per second, and nothing when nobody watches.

import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { WebSocketServer, type WebSocket } from "ws";
import { isFinished } from "../../shared/statuses.js";
import type { OutputEvent } from "../../shared/client/output-stream.js";
import type { Auth } from "../auth.js";
import type { Context } from "../context.js";
import { readOutputPiece } from "../store/output.js";

const PATH = /^\/ws\/output\/(\d+)$/;
const POLL_MS = 250;
/** Largest piece read per poll; a faster producer is caught up over the next polls. */
const MAX_READ_BYTES = 1024 * 1024;
const DEFAULT_INITIAL_TAIL = 4 * 1024 * 1024;
/** Bytes queued for one viewer above which its polls pause until it reads. */
const HIGH_WATER_BYTES = 1024 * 1024;
/** Open output sockets per coordinator; more are refused (503) so viewers cannot exhaust memory. */
const MAX_SOCKETS = 256;
/** Open output sockets per user (or address without a login), unless openhq.maxOutputSocketsPerUser says. */
const DEFAULT_SOCKETS_PER_VIEWER = 16;
const REFUSALS: Record<number, string> = { 401: "Unauthorized", 403: "Forbidden", 429: "Too Many Requests" };

export interface WebSockets {
  close(): Promise<void>;
}

interface Piece {
  status: string;
  progress: number;
  attempt: string;
  sent: number;
  skipped: number;
  text: Buffer;
  /** The text came from the file store: Redis may hold more after it, so this is not the end yet. */
  fromStore: boolean;
}

/** Reads bytes [sent, base) of the attempt's log from the file store, at most MAX_READ_BYTES. */
async function readFromStore(ctx: Context, jobId: number, piece: Piece, reply: Buffer[]): Promise<void> {
  const base = Number(String(reply[6] ?? "0"));
  if (piece.sent >= base) return;
  const at = { base, z: Number(String(reply[7])), n: Number(String(reply[8])) };
  const text = await ctx.logs.files.readRange(jobId, Number(piece.attempt), at, piece.sent, MAX_READ_BYTES);
  piece.text = text;
  piece.sent += text.length;
  piece.fromStore = true;
}

async function read(ctx: Context, jobId: number, sent: number, attempt: string): Promise<Piece | null> {
  const reply = await readOutputPiece(ctx, jobId, sent, attempt, MAX_READ_BYTES);
  if (reply === null) return null;
  const [status, progress, att, newSent, skipped, text] = reply;
  const piece = {
    status: String(status),
    progress: Number(String(progress)),
    attempt: String(att),
    sent: Number(String(newSent)),
    skipped: Number(String(skipped)),
    text: text ?? Buffer.alloc(0),
    fromStore: false,
  };
  await readFromStore(ctx, jobId, piece, reply);
  return piece;
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
    // Backpressure: a viewer that does not read is not fed. Reading is pull-based (by byte offset), so
    // skipping polls loses nothing and holds at most HIGH_WATER_BYTES + one read per socket in memory.
    if (busy || socket.bufferedAmount > HIGH_WATER_BYTES) return;
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
      if (isFinished(status) && !piece.fromStore && piece.text.length < MAX_READ_BYTES) {
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
export function attachWebSockets(server: Server, ctx: Context, auth: Auth): WebSockets {
  // Viewers only listen: anything they send is tiny, so a large frame is refused.
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 4096 });
  const perViewerCap = ctx.settings.maxOutputSocketsPerUser ?? DEFAULT_SOCKETS_PER_VIEWER;
  /** Sockets open or being upgraded, in all and per viewer (counted before the upgrade completes). */
  let open = 0;
  const perViewer = new Map<string, number>();
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (!url.pathname.startsWith("/ws/") || socket.destroyed) return; // server.ts's guard refused it
    const found = auth.authenticate(req);
    if (found instanceof Promise) void found.then(() => upgrade(req, socket, head, url));
    else upgrade(req, socket, head, url);
  };
  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): void => {
    if (socket.destroyed) return;
    const match = PATH.exec(url.pathname);
    const verdict = auth.check(req, false);
    const refuse = (status: string): void => {
      socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    };
    if (!match) return refuse("404 Not Found");
    if (!verdict.ok) return refuse(`${verdict.status} ${REFUSALS[verdict.status]}`);
    if (open >= MAX_SOCKETS) return refuse("503 Service Unavailable");
    // One viewer (a user, or an address without a login) cannot hold every socket.
    const viewer = auth.caller(req).user ?? `address ${req.socket.remoteAddress ?? ""}`;
    const held = perViewer.get(viewer) ?? 0;
    if (held >= perViewerCap) return refuse("429 Too Many Requests");
    open++;
    perViewer.set(viewer, held + 1);
    socket.once("close", () => {
      open--;
      const left = (perViewer.get(viewer) ?? 1) - 1;
      if (left > 0) perViewer.set(viewer, left);
      else perViewer.delete(viewer);
    });
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
