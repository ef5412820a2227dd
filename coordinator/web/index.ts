// The dashboard on the coordinator's port: server-rendered pages (htmx swaps the parts that refresh), static
// assets, GET /metrics, and the live output WebSocket (attachWebSockets). main.ts routes every GET/HEAD here;
// XML-RPC stays on POST, which is also how the pages' buttons act (static/app.js calls the public API).

import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { gzipSync } from "node:zlib";
import { Fault } from "../../shared/xmlrpc/types.js";
import { authFor } from "../auth.js";
import type { Context } from "../context.js";
import { metricsFor } from "../metrics.js";
import { apiFor } from "./api.js";
import { clientPage, clientsPage, clientsTable, errorsPage, groupsPage, resourcesPage } from "./farm.js";
import { escapeHtml, type Html } from "./html.js";
import { childRows, jobHead, jobPage, jobSide, jobsPage, jobsTable, readJobQuery } from "./jobs.js";
import { sendLog } from "./log-download.js";

export { attachWebSockets, type WebSockets } from "./output-socket.js";

export type WebHandler = (req: IncomingMessage, res: ServerResponse) => void;

interface Asset {
  type: string;
  body: Buffer;
  gzipped: Buffer;
}

function asset(path: string, type: string): Asset {
  const body = readFileSync(path);
  return { type, body, gzipped: gzipSync(body) };
}

/** htmx from the installed package, app.js and style.css from ./static; read once at start. */
function loadAssets(): Map<string, Asset> {
  const require = createRequire(import.meta.url);
  const here = new URL("./static/", import.meta.url);
  return new Map([
    [
      "/static/htmx.min.js",
      asset(require.resolve("htmx.org/dist/htmx.min.js"), "text/javascript; charset=utf-8"),
    ],
    ["/static/app.js", asset(new URL("app.js", here).pathname, "text/javascript; charset=utf-8")],
    ["/static/style.css", asset(new URL("style.css", here).pathname, "text/css; charset=utf-8")],
  ]);
}

function send(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
): void {
  const buffer = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  const zip = buffer.length > 1024 && /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
  const out = zip ? gzipSync(buffer, { level: 1 }) : buffer;
  res.writeHead(status, {
    "content-type": type,
    "content-length": out.length,
    "cache-control": "no-store",
    vary: "accept-encoding",
    ...(zip ? { "content-encoding": "gzip" } : {}),
  });
  res.end(req.method === "HEAD" ? undefined : out);
}

export function webHandler(ctx: Context): WebHandler {
  const assets = loadAssets();
  const auth = authFor(ctx);
  const metrics = metricsFor(ctx);
  const timeout = ctx.settings.activeTimeoutMinutes;

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = url.pathname.replace(/\/+$/, "") || "/";
    const fragment = req.headers["hx-request"] === "true";
    const api = apiFor(ctx);
    const page = (html: Html): void => send(req, res, 200, "text/html; charset=utf-8", html.text);

    const file = assets.get(path);
    if (file) {
      const zip = /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
      res.writeHead(200, {
        "content-type": file.type,
        "cache-control": "public, max-age=3600",
        vary: "accept-encoding",
        ...(zip ? { "content-encoding": "gzip" } : {}),
      });
      res.end(req.method === "HEAD" ? undefined : zip ? file.gzipped : file.body);
      return;
    }
    if (!auth.allowWeb(req, res, false)) return;
    if (path === "/favicon.ico") {
      res.writeHead(204).end();
      return;
    }
    if (path === "/metrics") {
      send(req, res, 200, "text/plain; version=0.0.4; charset=utf-8", await metrics.render());
      return;
    }
    if (path === "/") {
      res.writeHead(302, { location: "/jobs" }).end();
      return;
    }
    if (path === "/jobs") {
      const q = readJobQuery(url.searchParams);
      return page(fragment ? await jobsTable(api, q) : await jobsPage(api, q));
    }
    const log = /^\/jobs\/(\d+)\/log$/.exec(path);
    if (log) return sendLog(ctx, req, res, Number(log[1]), url.searchParams.get("attempt"));
    let m = /^\/jobs\/(\d+)(\/head|\/side|\/children)?$/.exec(path);
    if (m) {
      const id = Number(m[1]);
      if (m[2] === "/head") return page(await jobHead(api, id));
      if (m[2] === "/side") return page(await jobSide(api, id));
      if (m[2] === "/children") {
        const depth = Math.min(50, Math.max(1, Number(url.searchParams.get("depth") ?? "1") || 1));
        return page(await childRows(api, id, depth));
      }
      return page(await jobPage(api, id, api.has("setJobPriority") ? "setJobPriority" : null));
    }
    if (path === "/clients")
      return page(fragment ? await clientsTable(api, timeout) : await clientsPage(api, timeout));
    m = /^\/clients\/(\d+)$/.exec(path);
    if (m) {
      const rulesMethod =
        ["setAvailabilityRules", "setClientAvailabilityRules"].find((n) => api.has(n)) ?? null;
      return page(await clientPage(api, Number(m[1]), timeout, rulesMethod));
    }
    if (path === "/groups") return page(await groupsPage(api));
    if (path === "/resources") return page(await resourcesPage(api, api.has("setResource")));
    if (path === "/errors") return page(await errorsPage(api));
    send(req, res, 404, "text/plain; charset=utf-8", "not found\n");
  };

  return (req, res) => {
    route(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // A Fault is the API refusing (e.g. no such job): the user's problem, shown as such.
      if (err instanceof Fault) {
        const status = err.faultCode === 404 ? 404 : 400;
        send(
          req,
          res,
          status,
          "text/html; charset=utf-8",
          `<p>${escapeHtml(err.faultString)}</p><p><a href="/jobs">back</a></p>\n`,
        );
        return;
      }
      const error = err instanceof Error ? err : new Error(String(err));
      void ctx.recordError({
        message: `dashboard ${req.url}: ${error.message}`,
        time: Date.now(),
        stack: error.stack ?? "",
      });
      send(req, res, 500, "text/plain; charset=utf-8", "internal error (recorded in server errors)\n");
    });
  };
}
