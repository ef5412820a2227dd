// The dashboard on the coordinator's port: server-rendered pages (htmx swaps the parts that refresh), static
// assets, GET /metrics, and the live output WebSocket (attachWebSockets). main.ts routes every GET/HEAD here;
// XML-RPC stays on POST, which is also how the pages' buttons act (static/app.js calls the public API).

import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { gzipSync } from "node:zlib";
import { FaultCode } from "../../shared/xmlrpc/types.js";
import { faultOf } from "../api/faults.js";
import { auditExport, auditPage, readAuditFilters } from "./audit.js";
import { readEventFilters } from "./event-stream.js";
import type { Services } from "../services.js";
import { noticesPage } from "./notices.js";
import { clientPage, errorsPage, groupsPage, resourcesPage } from "./farm.js";
import { clientsPage, clientsTable, readClientQuery } from "./clients.js";
import { Html, html, layout } from "./html.js";
import { installRoute } from "./install.js";
import {
  clientChart,
  farmPage,
  readHours,
  renderTimeChart,
  utilisationChart,
  windowStart,
} from "./charts.js";
import { frameIds, frameTable, readFrameQuery } from "./frames.js";
import { searchPage } from "./search.js";
import { listJobs } from "../store/job-list.js";
import { farmHistory, shareHistory } from "../store/history.js";
import {
  childRows,
  jobHead,
  jobPage,
  jobSide,
  jobsPage,
  jobsTable,
  MAX_SELECT,
  readJobQuery,
  readOpen,
} from "./jobs.js";
import { sendLog } from "./log-download.js";
import { logViewPage, readLogQuery } from "./log-view.js";

export { attachWebSockets, type WebSockets } from "./output-socket.js";

/** The styled page for a missing page or job (and other refusals: `status`). */
function notFound(message: string, status = 404): Html {
  return layout(
    status === 404 ? "Not found" : "Refused",
    "",
    html`<section class="not-found">
      <h1>${status === 404 ? "Not found" : "Cannot show that"}</h1>
      <p>${message}</p>
      <p><a href="/jobs">Jobs</a> · <a href="/clients">Clients</a></p>
    </section>`,
  );
}

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

export function webHandler(services: Services): WebHandler {
  const { ctx, auth, metrics, events } = services;
  const assets = loadAssets();

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = url.pathname.replace(/\/+$/, "") || "/";
    // The back button's restore (htmx asks for a page whose view was pushed to the address bar) wants the page.
    const fragment =
      req.headers["hx-request"] === "true" && req.headers["hx-history-restore-request"] !== "true";
    const caller = auth.caller(req);
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
    // The install files also answer to the farm secret (installers and agents have no user account).
    const sendInstall = (status: number, type: string, body: string | Buffer): void =>
      send(req, res, status, type, body);
    if (await installRoute(ctx, auth, req, res, path, sendInstall)) return;
    if (!auth.allowWeb(req, res, false)) return;
    if (path === "/favicon.ico") {
      res.writeHead(204).end();
      return;
    }
    if (path === "/events" && req.method === "GET") {
      const filters = readEventFilters(url.searchParams);
      if (typeof filters === "string")
        return send(req, res, 400, "text/plain; charset=utf-8", `${filters}\n`);
      const viewer = auth.caller(req).user ?? `address ${req.socket.remoteAddress ?? ""}`;
      const lastEventId = req.headers["last-event-id"];
      events.open(
        req,
        res,
        viewer,
        filters,
        typeof lastEventId === "string" ? lastEventId.slice(0, 64) : undefined,
      );
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
      const open = readOpen(url.searchParams);
      return page(fragment ? await jobsTable(ctx, q, open) : await jobsPage(ctx, q));
    }
    if (path === "/jobs.json") {
      // Every job the list's filter matches (the bulk bar's "select all matching"), at most MAX_SELECT.
      const q = readJobQuery(url.searchParams);
      const list = await listJobs(ctx.redis, ctx.keys, { ...q, offset: 0, count: MAX_SELECT });
      const body = { ids: list.ids, total: list.total, complete: list.complete };
      send(req, res, 200, "application/json; charset=utf-8", JSON.stringify(body));
      return;
    }
    const logView = /^\/jobs\/(\d+)\/log\/view$/.exec(path);
    if (logView)
      return page(await logViewPage(ctx, caller, Number(logView[1]), readLogQuery(url.searchParams)));
    const log = /^\/jobs\/(\d+)\/log$/.exec(path);
    if (log) return sendLog(ctx, req, res, Number(log[1]), url.searchParams.get("attempt"));
    let m = /^\/jobs\/(\d+)(\/head|\/side|\/children|\/frames|\/frames\.json|\/render-times\.svg)?$/.exec(
      path,
    );
    if (m) {
      const id = Number(m[1]);
      if (m[2] === "/head") return page(await jobHead(ctx, id));
      if (m[2] === "/side") return page(await jobSide(ctx, id));
      if (m[2] === "/children") {
        const depth = Math.min(50, Math.max(1, Number(url.searchParams.get("depth") ?? "1") || 1));
        return page(await childRows(ctx, id, depth, readOpen(url.searchParams)));
      }
      if (m[2] === "/frames") return page(await frameTable(ctx, id, readFrameQuery(url.searchParams)));
      if (m[2] === "/frames.json") {
        const statuses = (url.searchParams.get("status") ?? "").split(",").filter((s) => s !== "");
        const ids = await frameIds(ctx, id, statuses.slice(0, 20));
        send(req, res, 200, "application/json; charset=utf-8", JSON.stringify({ ids }));
        return;
      }
      if (m[2] === "/render-times.svg") {
        send(req, res, 200, "image/svg+xml; charset=utf-8", (await renderTimeChart(ctx, id)).text);
        return;
      }
      return page(await jobPage(ctx, caller, id, readFrameQuery(url.searchParams)));
    }
    if (path === "/clients") {
      const q = readClientQuery(url.searchParams);
      return page(fragment ? await clientsTable(ctx, q) : await clientsPage(ctx, q));
    }
    m = /^\/clients\/(\d+)$/.exec(path);
    if (m) {
      const id = Number(m[1]);
      return page(await clientPage(ctx, caller, id, await clientChart(ctx, id)));
    }
    if (path === "/search") {
      const result = await searchPage(ctx, url.searchParams.get("q") ?? "", url.searchParams.get("before"));
      if (result instanceof Html) return page(result);
      res.writeHead(302, { location: result.redirect }).end();
      return;
    }
    if (path === "/farm")
      return page(await farmPage(ctx, readHours(url.searchParams), auth.check(req, true).ok));
    if (path === "/farm/history.json") {
      const hours = readHours(url.searchParams);
      const from = windowStart(hours);
      const [samples, shares] = await Promise.all([farmHistory(ctx, from), shareHistory(ctx, from)]);
      send(req, res, 200, "application/json; charset=utf-8", JSON.stringify({ samples, shares }));
      return;
    }
    if (path === "/farm/utilisation.svg") {
      const hours = readHours(url.searchParams);
      const now = Date.now();
      const svg = utilisationChart(await farmHistory(ctx, windowStart(hours, now)), hours, now);
      send(req, res, 200, "image/svg+xml; charset=utf-8", svg.text);
      return;
    }
    if (path === "/groups") return page(await groupsPage(ctx));
    if (path === "/resources") return page(await resourcesPage(ctx));
    if (path === "/errors") return page(await errorsPage(ctx));
    if (path === "/notices") return page(await noticesPage(ctx));
    if (path === "/audit")
      return page(await auditPage(ctx, readAuditFilters(url.searchParams), auth.check(req, true).ok));
    if (path === "/audit.jsonl") {
      // Only admins export (read-only users see the page).
      if (!auth.allowWeb(req, res, true)) return;
      res.setHeader("content-disposition", 'attachment; filename="openhq-audit.jsonl"');
      send(
        req,
        res,
        200,
        "application/x-ndjson; charset=utf-8",
        await auditExport(ctx, readAuditFilters(url.searchParams)),
      );
      return;
    }
    send(req, res, 404, "text/html; charset=utf-8", notFound(`No page at ${path}.`).text);
  };

  return (req, res) => {
    route(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // The API or the store refusing (e.g. no such job): the user's problem, shown as such.
      const fault = faultOf(err);
      if (fault) {
        const status = fault.faultCode === FaultCode.notFound ? 404 : 400;
        send(req, res, status, "text/html; charset=utf-8", notFound(fault.faultString, status).text);
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
