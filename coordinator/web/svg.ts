// Server-rendered SVG charts (no chart library, no build step): a time chart of a few series over a window
// and a bar chart of values by index. Every chart carries its data in data-* attributes (data-t on the chart,
// data-v on each series) so tests and scripts can read exactly what is drawn.

import { html, type Html } from "./html.js";

export interface Series {
  name: string;
  /** a CSS colour */
  color: string;
  /** one value per time of the chart's `times` (NaN = gap) */
  values: number[];
}

const PAD = { left: 44, right: 10, top: 22, bottom: 22 };
/** Inline, so a chart looks the same inline in a page and alone as an image. */
const STYLE = html`<style>
  .c-grid {
    stroke: #e3e3e3;
  }
  .tick {
    font: 10px sans-serif;
    fill: #666;
  }
  .chart-title {
    font: bold 12px sans-serif;
    fill: #222;
  }
  .legend {
    font: 11px sans-serif;
  }
</style>`;

/** A "nice" ceiling for the y axis: 1, 2, 2.5 or 5 times a power of ten. */
function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function num(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 2 : 1);
}

interface Frame {
  id: string;
  title: string;
  unit?: string | undefined;
  /** Said after the title and its unit (a bar chart's median). */
  note?: string | undefined;
  width: number;
  height: number;
  /** the y axis top value */
  max: number;
  /** y of a value */
  y: (v: number) => number;
  /** fractions of max with a grid line and a label */
  ticks: number[];
  /** data-* attributes of the <svg> element */
  data: Record<string, string>;
}

/** The chart's <svg> with its title and y grid, around `body`. */
function chartFrame(f: Frame, body: Html): Html {
  const data = Object.entries(f.data).map(([k, v]) => html` data-${k}="${v}"`);
  return html`<svg
    class="chart"
    id="${f.id}"
    xmlns="http://www.w3.org/2000/svg"
    viewBox="0 0 ${f.width} ${f.height}"
    width="${f.width}"
    height="${f.height}"
    role="img"
    aria-label="${f.title}"
    ${data}
  >
    ${STYLE}
    <text x="${PAD.left}" y="14" class="chart-title">${f.title}${f.unit ? ` (${f.unit})` : ""}${f.note ? ` · ${f.note}` : ""}</text>
    ${f.ticks.map(
      (t) =>
        html`<line
            x1="${PAD.left}"
            x2="${f.width - PAD.right}"
            y1="${f.y(f.max * t)}"
            y2="${f.y(f.max * t)}"
            class="c-grid"
          />
          <text x="${PAD.left - 4}" y="${f.y(f.max * t) + 4}" text-anchor="end" class="tick"
            >${num(f.max * t)}</text
          >`,
    )}
    ${body}
  </svg>`;
}

/** Size of the chart and of its plot, the y axis top for `values`, and y of a value. */
function plotArea(opts: { width?: number | undefined; height?: number | undefined }, values: number[]) {
  const width = opts.width ?? 720;
  const height = opts.height ?? 180;
  const w = width - PAD.left - PAD.right;
  const h = height - PAD.top - PAD.bottom;
  const max = niceMax(values.reduce((m, v) => (Number.isFinite(v) && v > m ? v : m), 0));
  const y = (v: number): number => PAD.top + h - (v / max) * h;
  return { width, height, w, h, max, y };
}

/** How long before the chart's right edge a tick is: hours, or minutes on a chart shorter than an hour. */
function agoLabel(ms: number, span: number): string {
  if (ms === 0) return "now";
  return span < 3600_000 ? `-${Math.round(ms / 6_000) / 10}m` : `-${Math.round(ms / 360_000) / 10}h`;
}

/** A line chart of `series` over [from, to] (ms); x ticks are relative ("-6h", "-2.5m"), so no time zone is implied. */
export function timeChart(opts: {
  id: string;
  title: string;
  times: number[];
  series: Series[];
  from: number;
  to: number;
  unit?: string;
  width?: number;
  height?: number;
}): Html {
  const { width, height, w, max, y } = plotArea(
    opts,
    opts.series.flatMap((s) => s.values),
  );
  const span = Math.max(1, opts.to - opts.from);
  const x = (t: number): number => PAD.left + ((t - opts.from) / span) * w;
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const frame = {
    ...opts,
    width,
    height,
    max,
    y,
    ticks,
    data: { t: opts.times.join(","), from: String(opts.from), to: String(opts.to) },
  };
  return chartFrame(
    frame,
    html` ${ticks.map(
      (f) =>
        html`<text x="${x(opts.from + span * f)}" y="${height - 6}" text-anchor="middle" class="tick">
          ${agoLabel(span * (1 - f), span)}
        </text>`,
    )}
    ${opts.series.map((s, i) => {
      const points = opts.times
        .map((t, k) => [t, s.values[k] ?? NaN] as const)
        .filter(([, v]) => Number.isFinite(v))
        .map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`)
        .join(" ");
      return html`<polyline
          class="series"
          data-name="${s.name}"
          data-v="${s.values.join(",")}"
          points="${points}"
          fill="none"
          stroke="${s.color}"
          stroke-width="1.5"
        /><text x="${PAD.left + 8 + i * 130}" y="${PAD.top + 12}" fill="${s.color}" class="legend">
          ■ ${s.name}
        </text>`;
    })}
    ${opts.times.length === 0 ? html`<text x="${width / 2}" y="${height / 2}" text-anchor="middle" class="tick">no samples yet</text>` : ""}`,
  );
}

export interface Bar {
  label: string;
  value: number;
  /** a CSS colour */
  color: string;
}

/** Vertical bars in order (one per frame); the caller bins them when there are thousands. */
export function barChart(opts: {
  id: string;
  title: string;
  unit?: string;
  note?: string;
  bars: Bar[];
  width?: number;
  height?: number;
}): Html {
  const { width, height, w, h, max, y } = plotArea(
    opts,
    opts.bars.map((b) => b.value),
  );
  const step = w / Math.max(1, opts.bars.length);
  const values = opts.bars.map((b) => (Number.isFinite(b.value) ? b.value.toFixed(1) : "")).join(",");
  const frame = { ...opts, width, height, max, y, ticks: [0, 0.5, 1], data: { v: values } };
  return chartFrame(
    frame,
    html`
      ${opts.bars.map((b, i) =>
        Number.isFinite(b.value)
          ? html`<rect
              x="${(PAD.left + i * step).toFixed(1)}"
              y="${y(b.value).toFixed(1)}"
              width="${Math.max(0.5, step - (step > 3 ? 1 : 0)).toFixed(1)}"
              height="${(PAD.top + h - y(b.value)).toFixed(1)}"
              fill="${b.color}"
              ><title>${b.label}: ${num(b.value)}${opts.unit ? ` ${opts.unit}` : ""}</title></rect
            >`
          : "",
      )}
    `,
  );
}
