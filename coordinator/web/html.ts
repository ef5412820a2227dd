// Server-side HTML: a tagged template that escapes every interpolated value unless it is already Html, and
// the page layout shared by every dashboard page.

export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

type Piece = Html | string | number | boolean | null | undefined | Piece[];

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function render(value: Piece): string {
  if (value === null || value === undefined || value === false) return "";
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join("");
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Piece[]): Html {
  let out = strings[0] ?? "";
  values.forEach((v, i) => {
    out += render(v) + (strings[i + 1] ?? "");
  });
  return new Html(out);
}

const NAV: [string, string][] = [
  ["/jobs", "Jobs"],
  ["/clients", "Clients"],
  ["/farm", "Farm"],
  ["/groups", "Groups"],
  ["/resources", "Resources"],
  ["/errors", "Server errors"],
  ["/notices", "Notices"],
  ["/audit", "Audit"],
  ["/install", "Add a machine"],
];

/** A block the page reloads every 3 s while auto-refresh is on: htmx swaps it for the same block of `url`. */
export function refreshing(id: string, url: string, body: Html): Html {
  return html`<div
    id="${id}"
    hx-get="${url}"
    hx-trigger="every 3s [autoRefresh()]"
    hx-swap="outerHTML"
    hx-select="#${id}"
  >
    ${body}
  </div>`;
}

export function layout(title: string, active: string, body: Html): Html {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · openhq</title>
        <link rel="stylesheet" href="/static/style.css" />
        <script src="/static/htmx.min.js" defer></script>
        <script src="/static/app.js" defer></script>
      </head>
      <body>
        <header>
          <a class="brand" href="/jobs">openhq</a>
          <nav>
            ${NAV.map(([href, label]) => html`<a href="${href}" class="${href === active ? "active" : ""}">${label}</a>`)}
          </nav>
          <form class="search" method="get" action="/search" role="search">
            <input
              name="q"
              type="search"
              placeholder="Search jobs or #id"
              aria-label="Search jobs by name or id"
            />
          </form>
          <span id="flash" role="status"></span>
        </header>
        <main>${body}</main>
      </body>
    </html> `;
}

/** A status word as a coloured badge (colours in static/style.css, one per internal status). */
export function statusBadge(status: unknown, label?: unknown): Html {
  const s = typeof status === "string" ? status : "unknown";
  return html`<span class="badge status-${s.replace(/[^a-z_]/gi, "")}"
    >${typeof label === "string" && label ? label : s}</span
  >`;
}

export function progressBar(fraction: unknown): Html {
  const f =
    typeof fraction === "number" && Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  const pct = Math.round(f * 100);
  return html`<div class="progress" title="${pct}%">
    <div style="width:${pct}%"></div>
    <span>${pct}%</span>
  </div>`;
}

/** A time in UTC, zone shown; static/app.js rewrites it into the viewer's time zone (zone shown too). */
export function time(value: unknown): Html {
  if (!(value instanceof Date)) return html`<span class="muted">–</span>`;
  const iso = value.toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 19).replace("T", " ")} UTC</time>`;
}

/** Memory in KB (as clients report it) with a binary unit. */
export function kilobytes(kb: unknown): string {
  if (typeof kb !== "number" || !Number.isFinite(kb) || kb < 0) return "–";
  if (kb >= 1048576) return `${(kb / 1048576).toFixed(1)} GiB`;
  if (kb >= 1024) return `${(kb / 1024).toFixed(0)} MiB`;
  return `${kb} KiB`;
}

/** Attributes that carry a unit the raw number hides. */
const UNITS: Record<string, (v: unknown) => string | null> = {
  memory: kilobytes,
  freeMemory: kilobytes,
  ETA: (v) => (typeof v === "number" ? (v < 0 ? "unknown" : duration(v)) : null),
  runTime: (v) => (typeof v === "number" ? duration(v) : null),
  idleTime: (v) => (typeof v === "number" ? (v < 0 ? "unknown" : duration(v * 60)) : null),
  maxTime: (v) => (typeof v === "number" ? (v < 0 ? "no limit" : duration(v)) : null),
  cpuSpeed: (v) => (typeof v === "number" ? `${v} MHz` : null),
  progress: (v) => (typeof v === "number" ? `${Math.round(v * 100)}%` : null),
  overallProgress: (v) => (typeof v === "number" ? `${Math.round(v * 100)}%` : null),
};

/** An attribute's value with its unit where it has one (title: the raw value). */
export function unitValue(key: string, v: unknown): Html {
  const shown = UNITS[key]?.(v);
  return shown ? html`<span title="${String(v)}">${shown}</span>` : value(v);
}

export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "–";
  if (seconds < 60) return `${Math.round(seconds)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${Math.round(seconds % 60)}s`;
  return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
}

/** JSON-ish rendering of an attribute value for the attribute tables. */
export function value(v: unknown): Html {
  if (v === null || v === undefined) return html`<span class="muted">None</span>`;
  if (v instanceof Date) return time(v);
  if (typeof v === "object") return html`<code>${JSON.stringify(v)}</code>`;
  return html`${String(v)}`;
}

/** A two-column table of a record's attributes, in the order of `keys`; `show` renders one value. */
export function attrTable<V>(
  record: Record<string, V>,
  keys: readonly string[],
  show: (key: string, v: V | undefined) => Html = (key, v) => unitValue(key, v),
): Html {
  return html`<table class="attrs">
    <tbody>
      ${keys.map(
        (k) =>
          html`<tr>
            <th>${k}</th>
            <td>${show(k, record[k])}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

/**
 * A sortable table's header cells: a plain cell for a column that does not sort, else `link(sort, desc,
 * text)` to sort by it (the sorted column, again, the other way), marked with its direction.
 */
export function sortHeaders<S extends string>(
  columns: readonly (readonly [string, S | null])[],
  current: { sort: string; desc: boolean },
  link: (sort: S, desc: boolean, text: string) => Html,
): Html[] {
  return columns.map(([label, sort]) => {
    if (sort === null) return html`<th>${label}</th>`;
    const active = current.sort === sort;
    const arrow = active ? (current.desc ? " ▾" : " ▴") : "";
    return html`<th class="${active ? "sorted" : ""}" data-sort="${sort}">
      ${link(sort, active ? !current.desc : false, `${label}${arrow}`)}
    </th>`;
  });
}

/**
 * A data table (class "grid"): a header row, then `rows`, or when there are none one row saying `empty`
 * across every column. A header is a column title, or a header cell already rendered (a checkbox, or a
 * sortable column's: sortHeaders).
 */
export function gridTable(
  headers: readonly (string | Html)[],
  rows: Html[],
  empty: string | Html,
  attrs: { id?: string; class?: string } = {},
): Html {
  return html`<table
    class="grid${attrs.class === undefined ? "" : ` ${attrs.class}`}"
    ${attrs.id === undefined ? "" : html`id="${attrs.id}"`}
  >
    <thead>
      <tr>
        ${headers.map((h) => (h instanceof Html ? h : html`<th>${h}</th>`))}
      </tr>
    </thead>
    <tbody>
      ${
        rows.length === 0
          ? html`<tr>
              <td colspan="${headers.length}" class="empty">${empty}</td>
            </tr>`
          : rows
      }
    </tbody>
  </table>`;
}

/**
 * A button static/app.js turns into the call `method(...params)`, after asking `confirm` when given; then it
 * reloads the page, or goes to `then`. `look` adds classes ("small", "danger").
 */
export function rpcButton(
  text: string | Html,
  method: string,
  params: unknown[],
  opts: { look?: string; confirm?: string; then?: string; title?: string } = {},
): Html {
  return html`<button
    type="button"
    class="rpc${opts.look === undefined ? "" : ` ${opts.look}`}"
    ${opts.title === undefined ? "" : html`title="${opts.title}"`}
    data-method="${method}"
    data-params="${JSON.stringify(params)}"
    ${opts.confirm === undefined ? "" : html`data-confirm="${opts.confirm}"`}
    ${opts.then === undefined ? "" : html`data-then="${opts.then}"`}
  >
    ${text}
  </button>`;
}

/**
 * The end of a sortable list's filter form: the sort in force kept as hidden fields (none for the list's
 * default order), the Filter button and the live (auto-refresh) toggle.
 */
export function filterFormEnd(current: { sort: string; desc: boolean }, defaultSort: string): Html {
  return html`${current.sort !== defaultSort ? html`<input type="hidden" name="sort" value="${current.sort}" />` : ""}
    ${current.desc ? html`<input type="hidden" name="dir" value="desc" />` : ""}
    <button type="submit">Filter</button>
    <label class="auto"><input type="checkbox" id="auto-refresh" checked /> live</label>`;
}
