// One HTTP request as written, with node:http and no client library in between (no retries, no pooling, the
// headers as given): for tests of what a server does with odd methods, paths, headers and bodies.

import { request, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders } from "node:http";
import { gunzipSync } from "node:zlib";

export interface RawReply {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body as text, gunzipped when the reply says content-encoding gzip. */
  body: string;
}

export function rawRequest(
  port: number,
  opts: { method?: string; path?: string; headers?: OutgoingHttpHeaders; body?: string | Buffer },
): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method: opts.method ?? "POST",
        path: opts.path ?? "/RPC2",
        headers: opts.headers,
      },
      (res) => {
        replyBody(res).then(
          (data) =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data.toString("utf8") }),
          reject,
        );
      },
    );
    req.on("error", reject);
    req.end(opts.body);
  });
}

/** A reply's whole body, gunzipped when it says content-encoding gzip. */
export function replyBody(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("end", () => {
      try {
        const data = Buffer.concat(chunks);
        resolve(res.headers["content-encoding"] === "gzip" ? gunzipSync(data) : data);
      } catch (err) {
        reject(err as Error);
      }
    });
    res.on("error", reject);
  });
}
