// An XML-RPC client over node:http(s) with a keep-alive connection pool, for the CLI, tests and benches.
// `http://user:pass@host:port/path` URLs send Basic auth; replies may be gzipped; a Fault reply rejects
// with that Fault, an HTTP error with XmlRpcProtocolError (Python's ProtocolError).

import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { bodyText, decodeContent, readBody } from "./body.js";
import { decodeMethodResponse, DEFAULT_MAX_DEPTH } from "./decode.js";
import { encodeMethodCall } from "./encode.js";
import type { XmlRpcValue } from "./types.js";

export interface XmlRpcClientOptions {
  /** Whole-call deadline, ms. Default 120 s (a getJobs of a big farm or a long log can take a while). */
  timeoutMs?: number;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Largest reply accepted, before and after gunzip. Default 1 GiB. */
  maxBodyBytes?: number;
  /** Deepest element nesting accepted in a reply. Default 64. */
  maxDepth?: number;
}

export class XmlRpcProtocolError extends Error {
  constructor(
    readonly url: string,
    readonly status: number,
    readonly statusText: string,
  ) {
    super(`${url}: HTTP ${status} ${statusText}`);
    this.name = "XmlRpcProtocolError";
  }
}

/** Shorter than the servers' keep-alive (65 s), so the client drops an idle connection first. */
const IDLE_SOCKET_MS = 30_000;

export class XmlRpcClient {
  private readonly agent: HttpAgent;
  private readonly send: typeof httpRequest;
  private readonly target: { hostname: string; port: string; path: string };
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly maxBodyBytes: number;
  private readonly maxDepth: number;
  /** The URL without credentials, for error messages. */
  readonly url: string;

  constructor(url: string, options: XmlRpcClientOptions = {}) {
    const parsed = new URL(url);
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
      throw new TypeError(`unsupported protocol ${parsed.protocol} in ${url}`);
    const secure = parsed.protocol === "https:";
    this.agent = secure
      ? new HttpsAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS })
      : new HttpAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS });
    this.send = secure ? httpsRequest : httpRequest;
    this.target = {
      hostname: parsed.hostname.replace(/^\[(.*)\]$/, "$1"),
      port: parsed.port,
      path: parsed.pathname + parsed.search,
    };
    this.headers = {
      "content-type": "text/xml",
      "accept-encoding": "gzip",
      "user-agent": "openhq-xmlrpc",
      ...options.headers,
    };
    if (parsed.username !== "" || parsed.password !== "") {
      const credentials = `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`;
      this.headers["authorization"] = `Basic ${Buffer.from(credentials).toString("base64")}`;
    }
    parsed.username = "";
    parsed.password = "";
    this.url = parsed.toString();
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024 * 1024;
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  }

  /** Calls `method`; resolves with its result, rejects with a Fault for a fault reply. */
  call<T = XmlRpcValue>(method: string, ...params: (XmlRpcValue | undefined)[]): Promise<T> {
    return this.callWith<T>({}, method, ...params);
  }

  /** `call` with a deadline of its own; a missed deadline rejects with an error whose `timedOut` is true. */
  async callWith<T = XmlRpcValue>(
    options: { timeoutMs?: number | undefined },
    method: string,
    ...params: (XmlRpcValue | undefined)[]
  ): Promise<T> {
    const body = Buffer.from(encodeMethodCall(method, params), "utf8");
    const reply = await this.post(body, method, false, options.timeoutMs ?? this.timeoutMs);
    const decoded = decodeMethodResponse(bodyText(reply), { maxDepth: this.maxDepth });
    if (decoded.fault) throw decoded.fault;
    return decoded.value as T;
  }

  /** Closes the pooled connections; calls made afterwards open new ones. */
  close(): void {
    this.agent.destroy();
  }

  /** POSTs the body and resolves with the (unzipped) reply body; retries once on a stale kept-alive socket. */
  private post(body: Buffer, method: string, retried: boolean, timeoutMs: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const req = this.send(
        {
          ...this.target,
          method: "POST",
          agent: this.agent,
          headers: { ...this.headers, "content-length": String(body.length) },
        },
        (res: IncomingMessage) => {
          if (res.statusCode !== 200) {
            res.resume();
            finish(new XmlRpcProtocolError(this.url, res.statusCode ?? 0, res.statusMessage ?? ""));
            return;
          }
          readBody(res, this.maxBodyBytes)
            .then((raw) => decodeContent(raw, res.headers["content-encoding"], this.maxBodyBytes))
            .then((out) => finish(undefined, out), finish);
        },
      );
      const timer = setTimeout(() => {
        const late = new Error(`${this.url}: no answer to ${method} within ${timeoutMs} ms`);
        req.destroy(Object.assign(late, { code: "ETIMEDOUT", timedOut: true }));
      }, timeoutMs);
      let done = false;
      const finish = (err?: unknown, out?: Buffer): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (out) resolve(out);
        else reject(err instanceof Error ? err : new Error(String(err)));
      };
      req.on("error", (err: NodeJS.ErrnoException) => {
        // The server may close an idle kept-alive socket just as we reuse it; like Python, try once more.
        if (!retried && !done && req.reusedSocket && err.code === "ECONNRESET") {
          done = true;
          clearTimeout(timer);
          this.post(body, method, true, timeoutMs).then(resolve, reject);
        } else finish(err);
      });
      req.end(body);
    });
  }
}
