// GET /jobs/<id>/log/view: one attempt's log as numbered lines, a page (PAGE_LINES lines, PAGE_BYTES at most)
// at a time: the head, the tail, from a line or a byte offset, and a search whose matches link to their lines.
// Every page reads only its bytes from the log store (logs/lines.ts), so a log of any size costs the same;
// scans (the line number of an offset, a search) stop at their byte and time bounds and say so.
// Parameters, all in the URL so a view can be shared: attempt, from + line (a page start and its line number),
// before (the page ending there), tail=1, goto (a line), byte (an offset), q (search), at + atline (where a
// search goes on), hl (text marked in the lines).

import type { CallContext } from "../../shared/xmlrpc/types.js";
import type { Context } from "../context.js";
import { readJobView } from "../store/job-view.js";
import { JobStore } from "../store/jobs.js";
import {
  lineAt,
  offsetOfLine,
  pageAt,
  pageBefore,
  search,
  SCAN_BYTES,
  spanReader,
  type LinePage,
  type ReadSpan,
  type SearchPage,
} from "../logs/lines.js";
import type { LogView } from "../store/logs.js";
import { html, layout, type Html } from "./html.js";

/** The longest search text: a phrase, not a document. */
const MAX_NEEDLE = 200;

export interface LogQuery {
  attempt: number | null;
  from: number | null;
  line: number | null;
  before: number | null;
  tail: boolean;
  goto: number | null;
  byte: number | null;
  q: string;
  at: number;
  atLine: number;
  hl: string;
}

function count(params: URLSearchParams, name: string): number | null {
  const text = params.get(name);
  return text !== null && /^\d{1,15}$/.test(text) ? Number(text) : null;
}

export function readLogQuery(params: URLSearchParams): LogQuery {
  return {
    attempt: count(params, "attempt"),
    from: count(params, "from"),
    line: count(params, "line"),
    before: count(params, "before"),
    tail: params.get("tail") === "1",
    goto: count(params, "goto"),
    byte: count(params, "byte"),
    q: (params.get("q") ?? "").slice(0, MAX_NEEDLE),
    at: count(params, "at") ?? 0,
    atLine: Math.max(1, count(params, "atline") ?? 1),
    hl: (params.get("hl") ?? "").slice(0, MAX_NEEDLE),
  };
}

function link(id: number, attempt: number, params: Record<string, string | number>): string {
  const p = new URLSearchParams({ attempt: String(attempt) });
  for (const [k, v] of Object.entries(params)) if (v !== "") p.set(k, String(v));
  return `/jobs/${id}/log/view?${p.toString()}`;
}

/** `text` with each occurrence of `mark` in <mark>. */
function marked(text: string, mark: string): Html {
  if (mark === "" || !text.includes(mark)) return html`${text}`;
  const parts = text.split(mark);
  return html`${parts.map((p, i) => (i === 0 ? html`${p}` : html`<mark>${mark}</mark>${p}`))}`;
}

async function readerFor(ctx: Context, view: LogView): Promise<ReadSpan> {
  return spanReader(view, (from, length) => ctx.logs.readRange(view, from, length));
}

/** The page of lines the query asks for, and a note when a bound left its line numbers unknown. */
async function linePage(read: ReadSpan, total: number, q: LogQuery): Promise<LinePage & { note: string }> {
  const unknown = `line numbers are counted in the first ${SCAN_BYTES / 2 ** 20} MiB only: this page shows byte offsets`;
  if (q.goto !== null) {
    const offset = await offsetOfLine(read, q.goto);
    if (offset === null || offset > total)
      return {
        ...(await pageAt(read, 0, 1)),
        note: `line ${q.goto} is past the log's end or the scan bound`,
      };
    return { ...(await pageAt(read, offset, q.goto)), note: "" };
  }
  if (q.byte !== null || q.tail || q.before !== null) {
    const end = Math.min(total, q.before ?? (q.tail ? total : (q.byte ?? 0)));
    const line = q.before !== null && q.line !== null ? q.line : await lineAt(read, end);
    if (q.byte !== null) {
      // The line holding the byte: start at the line start before it.
      const back = await read(Math.max(0, end - 64 * 1024), Math.min(end, 64 * 1024));
      const start = end - back.length + back.lastIndexOf(0x0a) + 1;
      return { ...(await pageAt(read, start, line)), note: line === null ? unknown : "" };
    }
    const page = await pageBefore(read, end, line);
    return { ...page, note: line === null ? unknown : "" };
  }
  const from = Math.min(q.from ?? 0, total);
  const line = from === 0 ? 1 : (q.line ?? (await lineAt(read, from)));
  return { ...(await pageAt(read, from, line)), note: line === null ? unknown : "" };
}

function linesTable(id: number, attempt: number, page: LinePage, mark: string): Html {
  return html`<table class="log-lines">
    <tbody>
      ${page.lines.map(
        (l) =>
          html`<tr id="${l.number === null ? `B${l.offset}` : `L${l.number}`}">
            <td class="ln">
              <a
                href="${link(id, attempt, l.number === null ? { byte: l.offset } : { from: l.offset, line: l.number })}"
                >${l.number === null ? `@${l.offset}` : l.number}</a
              >
            </td>
            <td class="lt">${marked(l.text, mark)}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function matchesTable(id: number, attempt: number, found: SearchPage, needle: string): Html {
  return html`<table class="log-lines log-matches">
    <tbody>
      ${found.matches.map(
        (m) =>
          html`<tr class="match" data-line="${m.line}" data-offset="${m.offset}">
            <td class="ln">
              <a href="${link(id, attempt, { from: m.offset, line: m.line, hl: needle })}#L${m.line}"
                >${m.line}</a
              >
            </td>
            <td class="lt">${marked(m.text, needle)}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

export async function logViewPage(ctx: Context, caller: CallContext, id: number, q: LogQuery): Promise<Html> {
  // getJob's read: NotFound for a job that does not exist (the page says so).
  const job = await readJobView(new JobStore(ctx), id, ["name"], caller);
  const view = await ctx.logs.view(id, q.attempt);
  const attempt = view?.attempt ?? q.attempt ?? 0;
  const total = view && view.kind !== "none" ? view.bytes : 0;
  const read: ReadSpan =
    view && view.kind !== "none" ? await readerFor(ctx, view) : () => Promise.resolve(Buffer.alloc(0));
  const to = (params: Record<string, string | number>) => link(id, attempt, params);

  let body: Html;
  if (q.q !== "") {
    const found = await search(read, total, q.q, Math.min(q.at, total), q.atLine);
    const scannedMiB = (found.scanned / 2 ** 20).toFixed(1);
    body = html`<p class="log-summary">
        ${found.matches.length} matching line${found.matches.length === 1 ? "" : "s"} for “${q.q}” from line
        ${q.atLine} (${scannedMiB} MiB
        scanned)${
          found.next
            ? html` ·
                <a rel="next" href="${to({ q: q.q, at: found.next.offset, atline: found.next.line })}"
                  >more matches from line ${found.next.line} ›</a
                >`
            : " · end of the log"
        }
      </p>
      ${found.matches.length > 0 ? matchesTable(id, attempt, found, q.q) : ""}`;
  } else {
    const page = await linePage(read, total, q);
    const first = page.lines[0];
    body = html`${page.note ? html`<p class="muted log-note">${page.note}</p>` : ""}
      <p class="log-summary">
        ${
          first
            ? html`bytes ${page.from}–${page.next} of
              ${total}${
                first.number !== null
                  ? html` · lines ${first.number}–${first.number + page.lines.length - 1}`
                  : ""
              }`
            : html`no lines here (${total} bytes in the log)`
        }
      </p>
      <p class="pager">
        ${page.from > 0 ? html`<a rel="prev" href="${to({ before: page.from, ...(first?.number != null ? { line: first.number } : {}), hl: q.hl })}">‹ previous page</a>` : ""}
        ${page.next < total ? html`<a rel="next" href="${to({ from: page.next, ...(page.nextLine !== null ? { line: page.nextLine } : {}), hl: q.hl })}">next page ›</a>` : ""}
      </p>
      ${linesTable(id, attempt, page, q.hl)}`;
  }

  const nav = html`<div class="log-nav">
    <a href="${to({})}">Head</a> · <a href="${to({ tail: 1 })}">Tail</a> ·
    <a href="/jobs/${id}/log?attempt=${attempt}">Download</a> · <a href="/jobs/${id}">Job ${id}</a>
    <form class="filters" method="get" action="/jobs/${id}/log/view">
      <input type="hidden" name="attempt" value="${attempt}" />
      <label>Line <input type="number" min="1" name="goto" value="${q.goto ?? ""}" /></label>
      <button type="submit">Go</button>
    </form>
    <form class="filters" method="get" action="/jobs/${id}/log/view">
      <input type="hidden" name="attempt" value="${attempt}" />
      <label>Byte <input type="number" min="0" name="byte" value="${q.byte ?? ""}" /></label>
      <button type="submit">Go</button>
    </form>
    <form class="filters log-search" method="get" action="/jobs/${id}/log/view">
      <input type="hidden" name="attempt" value="${attempt}" />
      <label
        >Search <input name="q" value="${q.q}" maxlength="${MAX_NEEDLE}" placeholder="exact text"
      /></label>
      <button type="submit">Search</button>
    </form>
  </div>`;
  return layout(
    `Log of job ${id}`,
    "/jobs",
    html`<h1>
        Log of job ${id}: ${String(job["name"] ?? "")}
        <span class="muted">· attempt ${attempt} · ${total} bytes</span>
      </h1>
      ${nav} ${body}`,
  );
}
