// The XML-RPC endpoint: a node:http request handler (the coordinator mounts it for every POST, whatever the
// path) and a small standalone server (the agent's port 5001).
//
// Answers like Python's SimpleXMLRPCServer: HTTP 200 for every call, a Fault for an unknown method or a
// bad request (never a 404, which would break Python's kept-alive connection), Fault(1, message) when a
// handler throws something that is not a Fault. HTTP errors are used only where no XML-RPC answer makes
// sense: 405 for a method other than POST, 413 for a body over `maxBodyBytes`.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Socket } from "node:net";
import { gzip } from "node:zlib";
import { BodyTooLargeError, bodyText, collectBody, decodeContent } from "./body.js";
import { decodeMethodCall, DEFAULT_MAX_DEPTH, type MethodCall } from "./decode.js";
import { encodeFault, encodeMethodResponseBody } from "./encode.js";
import { systemMethods } from "./system.js";
import { sendStreamedText } from "./streamed-reply.js";
import {
  Fault,
  FaultCode,
  StreamedText,
  type CallContext,
  type MethodHandler,
  type Methods,
  type XmlRpcValue,
} from "./types.js";

export type CallOutcome = "ok" | "fault" | "error";

/** The method label onCall gets for a request that could not be parsed. */
export const INVALID_CALL = "(invalid)";
/** The method label onCall gets for a method that does not exist (client-chosen names never become labels). */
export const UNKNOWN_METHOD = "(unknown)";

export interface XmlRpcServerOptions {
  /** Largest request body, before and after gunzip; larger gets HTTP 413. Default 64 MiB. */
  maxBodyBytes?: number;
  /** Deepest element nesting in a request. Default 64. */
  maxDepth?: number;
  /** Replies larger than this are gzipped when the client accepts gzip. Default 16 KiB. */
  gzipMinBytes?: number;
  /**
   * Called once per call (and once per call inside system.multicall) when it has been answered. `method`
   * is the method name when it exists, else INVALID_CALL or UNKNOWN_METHOD, so it is safe as a metric label.
   */
  onCall?(method: string, durationMs: number, outcome: CallOutcome): void;
  /** A handler threw something other than a Fault, or its result could not be encoded. */
  onError?(error: Error, method?: string): void;
  /**
   * Access control, asked before every call (each call inside a multicall too). Return true to allow or the
   * Fault to answer with; may set `ctx.user` for the handler.
   */
  authorize?(req: IncomingMessage, method: string, ctx: CallContext): true | Fault | Promise<true | Fault>;
  /**
   * Asked once per request before a byte of its body is read: an HTTP refusal to answer at once (and close),
   * or the largest body this request may send (e.g. small for callers without credentials), or true.
   */
  admit?(
    req: IncomingMessage,
  ): true | number | { status: number; message: string; headers?: Record<string, string> };
  /**
   * Asked before each call (each call inside a multicall too), before access control: undefined when the
   * call is of no interest, else a function told how the call ended (null and the result, or the Fault it
   * was answered with), once, after access control and the handler. What it throws is ignored.
   */
  audit?(
    req: IncomingMessage,
    method: string,
    params: XmlRpcValue[],
    ctx: CallContext,
  ): ((fault: Fault | null, result?: XmlRpcValue | StreamedText) => void) | undefined;
  /** Most calls in one system.multicall; more is a Fault, none of them run. Default 10,000. */
  maxMulticall?: number;
  /** Largest reply body (before gzip); a larger result is answered with a Fault instead. Default 64 MiB. */
  maxReplyBytes?: number;
  /**
   * Streamed replies (a handler's StreamedText: a whole job log) written at once; more wait for a turn, up
   * to 16 times as many, and beyond that are answered with a Fault. Default 4.
   */
  maxStreamedReplies?: number;
}

const DEFAULT_MAX_BODY = 64 * 1024 * 1024;
const DEFAULT_GZIP_MIN = 16 * 1024;
const DEFAULT_MAX_MULTICALL = 10_000;
const DEFAULT_MAX_REPLY = 64 * 1024 * 1024;
const DEFAULT_MAX_STREAMED = 4;
/** Streamed replies that may wait for a turn, per turn. */
const WAITING_PER_STREAM = 16;
const XML_TYPE = "text/xml; charset=utf-8";
/** Fast compression: on a busy 2-core box CPU is scarcer than LAN bandwidth. */
const GZIP_LEVEL = 1;

function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  for (const part of header.split(",")) {
    const [coding = "", ...params] = part.split(";");
    const name = coding.trim().toLowerCase();
    if (name !== "gzip" && name !== "x-gzip" && name !== "*") continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    if (q === undefined || Number(q.slice(2)) > 0) return true;
  }
  return false;
}

function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown));
}

function noop(): void {}

/**
 * A short text answer with an explicit Content-Length: Python's xmlrpc.client reads an error body only when
 * it has one, and a chunked body left unread would break its next call on the same connection.
 */
function plain(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  const body = Buffer.from(text);
  res
    .writeHead(status, { "content-type": "text/plain", "content-length": body.length, ...headers })
    .end(body);
}

/** Drops what is left of a request body; a client sending more than `cap` further bytes loses its connection. */
function discard(req: IncomingMessage, cap: number): void {
  let dropped = 0;
  req.on("data", (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > cap) req.socket.destroy();
  });
  req.resume();
}

/** A client-chosen name, cut short for a fault message (a megabyte-long method name stays out of replies). */
function shorten(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** A bounded number of things at once, and a bounded line of those waiting for a turn. */
class Turns {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly max: number,
    private readonly maxWaiting: number,
  ) {}

  /** Runs `start` now or once a turn is free; false (and `start` never runs) when the line is full. */
  enter(start: () => void): boolean {
    if (this.active < this.max) {
      this.active++;
      start();
    } else if (this.waiting.length < this.maxWaiting) this.waiting.push(start);
    else return false;
    return true;
  }

  /** A turn is over: the next in line takes it. */
  leave(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}

/** Where a call context keeps its request, for the calls system.multicall makes on the same request's behalf. */
const REQUEST = Symbol("request");
type ServerContext = CallContext & { [REQUEST]?: IncomingMessage };

export function createXmlRpcHandler(
  methods: Methods | (() => Methods),
  options: XmlRpcServerOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  const gzipMinBytes = options.gzipMinBytes ?? DEFAULT_GZIP_MIN;
  const maxReplyBytes = options.maxReplyBytes ?? DEFAULT_MAX_REPLY;
  const maxStreamed = options.maxStreamedReplies ?? DEFAULT_MAX_STREAMED;
  const streamTurns = new Turns(maxStreamed, maxStreamed * WAITING_PER_STREAM);
  const { onCall, onError, authorize, admit, audit } = options;
  const current = typeof methods === "function" ? methods : () => methods;

  const lookup = (table: Methods, name: string): MethodHandler | undefined => {
    // Object.hasOwn: a method called "constructor" or "__proto__" must not reach Object.prototype.
    const own = Object.hasOwn(table, name)
      ? table[name]
      : Object.hasOwn(system, name)
        ? system[name]
        : undefined;
    return typeof own === "function" ? own : undefined;
  };

  /** Counts a failed call and turns what it threw into the Fault to answer (a non-Fault is reported). */
  const failed = (thrown: unknown, name: string, label: string, started: number): Fault => {
    if (thrown instanceof Fault) {
      onCall?.(label, performance.now() - started, "fault");
      return thrown;
    }
    const error = asError(thrown);
    onError?.(error, name);
    onCall?.(label, performance.now() - started, "error");
    return new Fault(FaultCode.internal, error.message);
  };

  /**
   * Looks the method up and calls it. Returns the result, or a promise of it when the handler is async, so
   * the usual synchronous call skips the promise machinery (this is every request's path). Throws or
   * rejects with a Fault only.
   */
  const run = (name: string, params: XmlRpcValue[], ctx: CallContext, started: number) => {
    const handler = lookup(current(), name);
    if (!handler)
      throw failed(
        new Fault(FaultCode.noMethod, `method "${shorten(name)}" is not supported`),
        name,
        UNKNOWN_METHOD,
        started,
      );
    let result: XmlRpcValue | StreamedText | Promise<XmlRpcValue | StreamedText>;
    try {
      result = handler(params, ctx);
    } catch (thrown) {
      throw failed(thrown, name, name, started);
    }
    if (!(result instanceof Promise)) {
      onCall?.(name, performance.now() - started, "ok");
      return result;
    }
    return result.then(
      (value) => {
        onCall?.(name, performance.now() - started, "ok");
        return value;
      },
      (thrown: unknown) => {
        throw failed(thrown, name, name, started);
      },
    );
  };

  /** Runs the call when access control allowed it, else throws the refusal. */
  const allowed = (
    verdict: unknown,
    name: string,
    params: XmlRpcValue[],
    ctx: CallContext,
    started: number,
  ) => {
    if (verdict === true) return run(name, params, ctx, started);
    const fault = verdict instanceof Fault ? verdict : new Fault(FaultCode.forbidden, `${name}: not allowed`);
    throw failed(fault, name, lookup(current(), name) ? name : UNKNOWN_METHOD, started);
  };

  /** One call, access control first: as `run` (synchronous as long as authorize and the handler are). */
  const authorized = (req: IncomingMessage, name: string, params: XmlRpcValue[], ctx: CallContext) => {
    const started = performance.now();
    if (!authorize) return run(name, params, ctx, started);
    let verdict: true | Fault | Promise<true | Fault>;
    try {
      verdict = authorize(req, name, ctx);
    } catch (thrown) {
      throw failed(thrown, name, UNKNOWN_METHOD, started);
    }
    if (!(verdict instanceof Promise)) return allowed(verdict, name, params, ctx, started);
    return verdict.then(
      (v) => allowed(v, name, params, ctx, started),
      (thrown: unknown) => {
        throw failed(thrown, name, UNKNOWN_METHOD, started);
      },
    );
  };

  /** One call as `authorized`, told to the audit hook when it wants it. */
  const invoke = (req: IncomingMessage, name: string, params: XmlRpcValue[], ctx: CallContext) => {
    let done: ReturnType<NonNullable<typeof audit>>;
    try {
      done = audit?.(req, name, params, ctx);
    } catch {
      done = undefined;
    }
    if (!done) return authorized(req, name, params, ctx);
    const tell = (thrown: unknown, result?: XmlRpcValue | StreamedText): void => {
      try {
        const fault =
          thrown === null || thrown instanceof Fault ? thrown : new Fault(FaultCode.internal, String(thrown));
        done(fault, result);
      } catch {
        // Recording must never fail the call.
      }
    };
    let result: ReturnType<typeof authorized>;
    try {
      result = authorized(req, name, params, ctx);
    } catch (thrown) {
      tell(thrown);
      throw thrown;
    }
    if (!(result instanceof Promise)) {
      tell(null, result);
      return result;
    }
    return result.then(
      (value) => {
        tell(null, value);
        return value;
      },
      (thrown: unknown) => {
        tell(thrown);
        throw thrown;
      },
    );
  };

  const system = systemMethods({
    maxCalls: options.maxMulticall ?? DEFAULT_MAX_MULTICALL,
    names: () => [...new Set([...Object.keys(current()), ...Object.keys(system)])],
    help: (name) => {
      const handler = lookup(current(), name) as { help?: unknown } | undefined;
      return typeof handler?.help === "string" ? handler.help : "";
    },
    invoke: async (name, params, ctx) => {
      const req = (ctx as ServerContext)[REQUEST];
      if (!req) throw new Fault(FaultCode.internal, "call context without a request");
      const result = await invoke(req, name, params, ctx);
      if (result instanceof StreamedText)
        throw new Fault(
          FaultCode.badArgument,
          `${shorten(name)}: its reply is too large for system.multicall; call it on its own`,
        );
      return result;
    },
  });

  const send = (req: IncomingMessage, res: ServerResponse, xml: string | Buffer): void => {
    const length = typeof xml === "string" ? Buffer.byteLength(xml) : xml.length;
    if (length <= gzipMinBytes || !acceptsGzip(req.headers["accept-encoding"])) {
      // A small body goes out in the same write as the headers: one syscall per small reply.
      res.writeHead(200, { "content-type": XML_TYPE, "content-length": length }).end(xml);
      return;
    }
    gzip(xml, { level: GZIP_LEVEL }, (err, zipped) => {
      if (err) res.writeHead(200, { "content-type": XML_TYPE, "content-length": length }).end(xml);
      else
        res
          .writeHead(200, {
            "content-type": XML_TYPE,
            "content-encoding": "gzip",
            "content-length": zipped.length,
          })
          .end(zipped);
    });
  };

  /** A StreamedText reply, when its turn comes (the client may be gone by then). */
  const sendStreamed = (
    req: IncomingMessage,
    res: ServerResponse,
    text: StreamedText,
    name: string,
  ): void => {
    if (text.bytes > maxReplyBytes) {
      send(
        req,
        res,
        encodeFault(
          FaultCode.badArgument,
          `${shorten(name)}: the reply would be ${text.bytes} bytes, over the ${maxReplyBytes}-byte limit`,
        ),
      );
      return;
    }
    const start = (): void => {
      if (res.destroyed) {
        streamTurns.leave();
        return;
      }
      sendStreamedText(res, text, acceptsGzip(req.headers["accept-encoding"]), GZIP_LEVEL)
        .catch((err: unknown) => {
          // A client that hangs up part-way is no server error.
          if ((err as NodeJS.ErrnoException).code !== "ERR_STREAM_PREMATURE_CLOSE")
            onError?.(asError(err), name);
          res.destroy();
        })
        .finally(() => streamTurns.leave());
    };
    if (!streamTurns.enter(start))
      send(
        req,
        res,
        encodeFault(FaultCode.tooManyCalls, `${shorten(name)}: too many large replies being sent; try again`),
      );
  };

  const sendResult = (
    req: IncomingMessage,
    res: ServerResponse,
    value: XmlRpcValue | StreamedText,
    name: string,
  ): void => {
    if (value instanceof StreamedText) {
      sendStreamed(req, res, value, name);
      return;
    }
    let xml: string | Buffer;
    try {
      xml = encodeMethodResponseBody(value);
    } catch (err) {
      // The handler succeeded but returned something XML-RPC cannot carry.
      const error = asError(err);
      onError?.(error, name);
      xml = encodeFault(FaultCode.internal, `cannot encode the result: ${error.message}`);
    }
    const length = typeof xml === "string" ? Buffer.byteLength(xml) : xml.length;
    if (length > maxReplyBytes)
      xml = encodeFault(
        FaultCode.badArgument,
        `${shorten(name)}: the reply would be ${length} bytes, over the ${maxReplyBytes}-byte limit; ask for fewer items or attributes`,
      );
    send(req, res, xml);
  };

  const sendFault = (req: IncomingMessage, res: ServerResponse, thrown: unknown): void => {
    const fault = thrown instanceof Fault ? thrown : new Fault(FaultCode.internal, asError(thrown).message);
    send(req, res, encodeFault(fault.faultCode, fault.faultString));
  };

  /** Only a bug in this file gets here: answer if still possible, and never let it reach the process. */
  const bug = (res: ServerResponse, err: unknown): void => {
    onError?.(asError(err));
    if (!res.headersSent) plain(res, 500, "internal error\n", { connection: "close" });
    else res.destroy();
  };

  /** Answers a request whose body could not be had: a Fault, a 413, or nothing for a client gone. */
  const refuse = (req: IncomingMessage, res: ServerResponse, err: unknown, started: number): void => {
    if (err instanceof Fault) {
      onCall?.(INVALID_CALL, performance.now() - started, "fault");
      sendFault(req, res, err);
    } else if (err instanceof BodyTooLargeError) {
      onCall?.(INVALID_CALL, performance.now() - started, "fault");
      // Read and drop the rest of a moderately oversized body before answering, so a client that writes
      // its whole body before reading (Python does) gets the 413 rather than a reset connection. An absurd
      // size is not worth reading: answer at once and close.
      const keep = !(Number(req.headers["content-length"]) > 2 * maxBodyBytes);
      if (keep) discard(req, maxBodyBytes);
      plain(res, 413, `${err.message}\n`, keep ? {} : { connection: "close" });
    } else res.destroy();
  };

  const reply = (req: IncomingMessage, res: ServerResponse, body: Buffer, started: number): void => {
    let call: MethodCall;
    try {
      call = decodeMethodCall(bodyText(body), { maxDepth });
    } catch (err) {
      refuse(req, res, err, started);
      return;
    }
    const ctx: ServerContext = { [REQUEST]: req };
    if (req.socket.remoteAddress !== undefined) ctx.remoteAddress = req.socket.remoteAddress;
    let result: XmlRpcValue | StreamedText | Promise<XmlRpcValue | StreamedText>;
    try {
      result = invoke(req, call.methodName, call.params, ctx);
    } catch (err) {
      sendFault(req, res, err);
      return;
    }
    if (!(result instanceof Promise)) sendResult(req, res, result, call.methodName);
    else
      result
        .then(
          (value) => sendResult(req, res, value, call.methodName),
          (err: unknown) => sendFault(req, res, err),
        )
        .catch((err: unknown) => bug(res, err));
  };

  return (req, res) => {
    res.on("error", noop);
    if (req.method !== "POST") {
      req.resume();
      plain(res, 405, "XML-RPC answers POST only\n", { allow: "POST" });
      return;
    }
    const started = performance.now();
    let limit = maxBodyBytes;
    if (admit) {
      const verdict = admit(req);
      if (typeof verdict === "object") {
        onCall?.(INVALID_CALL, performance.now() - started, "fault");
        // The body is never held or parsed. Up to maxBodyBytes of it are read and dropped, so a client that
        // writes its whole body before reading (Python) gets the answer rather than a reset connection.
        const keep = !(Number(req.headers["content-length"]) > maxBodyBytes);
        if (keep) discard(req, maxBodyBytes);
        plain(res, verdict.status, `${verdict.message}\n`, {
          ...(keep ? {} : { connection: "close" }),
          ...verdict.headers,
        });
        return;
      }
      if (typeof verdict === "number") limit = Math.min(limit, verdict);
    }
    collectBody(req, limit, (err, raw) => {
      try {
        const coding = req.headers["content-encoding"];
        if (err) refuse(req, res, err, started);
        else if (coding === undefined) reply(req, res, raw, started);
        else
          decodeContent(raw, coding, limit)
            .then(
              (body) => reply(req, res, body, started),
              (e: unknown) => refuse(req, res, e, started),
            )
            .catch((e: unknown) => bug(res, e));
      } catch (e) {
        bug(res, e);
      }
    });
  };
}

export interface RequestTimeouts {
  /** Longest time to receive a request's headers (a slowloris sender's bound). Default 66 s. */
  headersMs?: number;
  /** Longest time to receive a whole request. Default 300 s. */
  requestMs?: number;
}

/** Per server of createKeepAliveServer: its open sockets, and the first-request timeout each starts with. */
const openSockets = new WeakMap<Server, { sockets: Set<Socket>; headersMs: number }>();

/**
 * Closes the connections of `server` (made by createKeepAliveServer) that never began a request: a client
 * that connected ahead of need (a browser's preconnect) or a port probe. Node's closeIdleConnections()
 * leaves them (a connection is idle only once a request ended on it), so a closing server would wait for
 * them until its grace ends. A socket upgraded to a WebSocket is not one of them (ws turns its timer off).
 */
export function closeUnusedConnections(server: Server): void {
  const open = openSockets.get(server);
  if (open === undefined) return;
  // Still on its first-request timer: the first request turns it off (createKeepAliveServer), as ws does.
  for (const socket of open.sockets) if (socket.timeout === open.headersMs) socket.destroy();
}

/**
 * An HTTP server for long-lived XML-RPC clients: keep-alive that outlives the usual 60 s idle timeout of
 * load balancers and the pauses of Python scripts between calls, a bound on how long one request may take,
 * and malformed HTTP costing the sender its connection and nothing else.
 */
export function createKeepAliveServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  tls?: { cert: string | Buffer; key: string | Buffer },
  timeouts: RequestTimeouts = {},
): Server {
  const keepAliveMs = 65_000;
  const headersMs = timeouts.headersMs ?? keepAliveMs + 1000;
  const options = { keepAlive: true, requestTimeout: timeouts.requestMs ?? 300_000 };
  // Node bounds a request from its first byte on (headersTimeout) and the pause between requests
  // (keepAliveTimeout), not a connection that never sends a byte: that one gets headersMs of idleness, and
  // its first request turns the timer off (from then on Node's own timeouts apply).
  const firstRequest = (req: IncomingMessage, res: ServerResponse) => {
    if (req.socket.timeout) req.socket.setTimeout(0);
    handler(req, res);
  };
  // An https.Server is an http.Server with TLS underneath: everything below applies to both.
  const server: Server = tls
    ? createHttpsServer({ ...options, cert: tls.cert, key: tls.key }, firstRequest)
    : createServer(options, firstRequest);
  const sockets = new Set<Socket>();
  openSockets.set(server, { sockets, headersMs });
  server.on(tls ? "secureConnection" : "connection", (socket: Socket) => {
    socket.setTimeout(headersMs);
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  server.keepAliveTimeout = keepAliveMs;
  server.headersTimeout = headersMs;
  server.on("clientError", (_err, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n");
    else socket.destroy();
  });
  return server;
}

/** A standalone XML-RPC server (not yet listening): POST on any path, 405 for anything else. */
export function createXmlRpcServer(
  methods: Methods | (() => Methods),
  options: XmlRpcServerOptions = {},
  timeouts: RequestTimeouts = {},
): Server {
  return createKeepAliveServer(createXmlRpcHandler(methods, options), undefined, timeouts);
}
