// One HTTP request as written, with node:http and no client library in between (no retries, no pooling, the
// headers as given): for tests of what a server does with odd methods, paths, headers and bodies.

import { request, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http";
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
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          let data = Buffer.concat(chunks);
          if (res.headers["content-encoding"] === "gzip") data = gunzipSync(data);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data.toString("utf8") });
        });
      },
    );
    req.on("error", reject);
    req.end(opts.body);
  });
}
