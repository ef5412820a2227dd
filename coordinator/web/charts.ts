// The dashboard's pictures: the farm over the last hours (CPU slots, clients by state, queue) and each share's
// running slots against its guarantee and burst, from the shared history (./history.ts), a parent's render
// time per frame (outliers stand out), a client's load and jobs.

import { runningByUser, shareRows, sharesConfigured } from "../store/shares.js";
import { sharesTable } from "./shares.js";
import type { Context } from "../context.js";
import { isFinished } from "../../shared/statuses.js";
import { childIds, childSeconds, readFrames } from "../store/job-frames.js";
import {
  clientHistory,
  farmHistory,
  HISTORY_MS,
  newestFarmSample,
  oldestFarmSample,
  shareHistory,
  type FarmSample,
  type ShareHistorySample,
  type ShareSample,
} from "../store/history.js";
import { html, layout, type Html } from "./html.js";
import { barChart, timeChart, type Bar } from "./svg.js";
import { readUtilisation } from "./utilisation.js";

export const CHART_HOURS = [1, 6, 24];
/** The shortest range the charts fit to the history that exists (a farm started a minute ago). */
const MIN_FIT_MS = 5 * 60_000;

/** `hours=1|6|24`, or null (none given): the range fits the history there is. */
export function readHours(params: URLSearchParams): number | null {
  const hours = Number(params.get("hours") ?? "");
  return CHART_HOURS.includes(hours) ? hours : null;
}

/**
 * Where a window of `hours` (all the history kept when none) ending `now` starts, ms: the farm's and the
 * shares' samples from then (store/history.ts farmHistory, shareHistory) are what the charts and
 * /farm/history.json show.
 */
export function windowStart(hours: number | null, now = Date.now()): number {
  return now - Math.min((hours ?? 24) * 3600_000, HISTORY_MS);
}

/** Milliseconds the charts show: the hours asked for, or from the oldest sample (at least MIN_FIT_MS). */
export function chartSpan(samples: { t: number }[], hours: number | null, now: number): number {
  if (hours !== null) return hours * 3600_000;
  const oldest = samples[0]?.t ?? now;
  return Math.min(HISTORY_MS, Math.max(MIN_FIT_MS, now - oldest));
}

const STATE_COLOURS: [keyof FarmSample["clients"], string][] = [
  ["busy", "#1565c0"],
  ["idle", "#2e7d32"],
  ["unavailable", "#9e9d24"],
  ["disabled", "#757575"],
  ["not_responding", "#c62828"],
  ["quarantined", "#6a1b9a"],
];

export function utilisationChart(samples: FarmSample[], hours: number | null, now: number): Html {
  return timeChart({
    id: "chart-slots",
    title: "Farm utilisation: CPU slots",
    times: samples.map((s) => s.t),
    from: now - chartSpan(samples, hours, now),
    to: now,
    series: [
      { name: "busy", color: "#1565c0", values: samples.map((s) => s.slotsBusy) },
      { name: "total", color: "#90a4ae", values: samples.map((s) => s.slotsTotal) },
    ],
  });
}

export async function farmCharts(ctx: Context, hours: number | null, now = Date.now()): Promise<Html> {
  const samples = await farmHistory(ctx, windowStart(hours, now));
  const times = samples.map((s) => s.t);
  const window = { from: now - chartSpan(samples, hours, now), to: now, times };
  return html`${utilisationChart(samples, hours, now)}
  ${timeChart({
    id: "chart-clients",
    title: "Clients by state",
    ...window,
    series: STATE_COLOURS.map(([state, color]) => ({
      name: state.replace("_", " "),
      color,
      values: samples.map((s) => s.clients[state]),
    })),
  })}
  ${timeChart({
    id: "chart-queue",
    title: "Queue depth",
    unit: "jobs",
    ...window,
    series: [
      { name: "waiting", color: "#ef6c00", values: samples.map((s) => s.waiting) },
      { name: "running", color: "#1565c0", values: samples.map((s) => s.running) },
    ],
  })}`;
}

/**
 * One small chart per share in the window (by name): its running CPU slots, its guarantee and its burst
 * maximum (a gap where it had none, or where the share was not sampled), over the range the farm charts use:
 * the hours asked for, or the share history there is.
 */
export function shareCharts(samples: ShareHistorySample[], hours: number | null, now: number): Html {
  const names = [...new Set(samples.flatMap((s) => s.shares.map((r) => r.name)))].sort();
  if (names.length === 0) return html``;
  const times = samples.map((s) => s.t);
  const from = now - chartSpan(samples, hours, now);
  const byName = samples.map((s) => new Map(s.shares.map((r) => [r.name, r])));
  const values = (name: string, pick: (r: ShareSample) => number | null) =>
    byName.map((rows) => {
      const row = rows.get(name);
      return row === undefined ? NaN : (pick(row) ?? NaN);
    });
  return html`<h2>Shares over time</h2>
    <div class="charts" id="share-charts">
      ${names.map((name) =>
        timeChart({
          id: `chart-share-${name}`,
          title: `Share ${name}`,
          unit: "CPU slots",
          times,
          from,
          to: now,
          width: 420,
          height: 160,
          // Running last: drawn over a guarantee or burst line at the same height.
          series: [
            { name: "guarantee", color: "#2e7d32", values: values(name, (r) => r.guarantee) },
            { name: "burst", color: "#c62828", values: values(name, (r) => r.burst) },
            { name: "running", color: "#1565c0", values: values(name, (r) => r.running) },
          ],
        }),
      )}
    </div>`;
}

/** Users the Farm page lists by running slots (the busiest). */
const USERS_LISTED = 20;

/**
 * Who holds the farm now, once shares exist: the users with running jobs and their CPU slots (the busiest
 * USERS_LISTED), and how many more users run something.
 */
function usersTable({ users, more }: { users: { user: string; slots: number }[]; more: number }): Html {
  return html`<h2>Running by user</h2>
    ${
      users.length === 0
        ? html`<p class="muted">Nothing runs now.</p>`
        : html`<table id="users-running">
            <thead>
              <tr>
                <th>User</th>
                <th>CPU slots</th>
              </tr>
            </thead>
            <tbody>
              ${users.map(
                (u) =>
                  html`<tr>
                    <td>${u.user}</td>
                    <td>${u.slots}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }
    ${more > 0 ? html`<p class="muted" id="users-more">and ${more} more ${more === 1 ? "user" : "users"}</p>` : ""}`;
}

/** How old the newest sample may be for the Farm page's figures (samples are a minute apart). */
const SAMPLE_FRESH_MS = 2 * 60_000;

/** `canEdit`: the caller may change shares (an admin, or anyone with access control off). */
export async function farmPage(ctx: Context, hours: number | null, canEdit: boolean): Promise<Html> {
  const now = Date.now();
  const [latest, charts, shares, oldest, shareSamples, users] = await Promise.all([
    newestFarmSample(ctx),
    farmCharts(ctx, hours, now),
    shareRows(ctx),
    oldestFarmSample(ctx),
    shareHistory(ctx, windowStart(hours, now)),
    runningByUser(ctx, USERS_LISTED),
  ]);
  // The figures of the last minute's sample, which the charts end on: read live, they cost a read of every
  // blade per view (664 ms at 10,000 blades). Without a recent sample (the sampler failing), read live.
  const sampled = latest !== null && now - latest.t <= SAMPLE_FRESH_MS;
  const farm = sampled ? latest : await readUtilisation(ctx, now);
  const fitted = Math.round(chartSpan(oldest === null ? [] : [{ t: oldest }], null, now) / 60_000);
  const fitLabel = `all history (${fitted < 120 ? `${fitted} min` : `${Math.round(fitted / 60)} h`})`;
  const pct = farm.slotsTotal > 0 ? Math.round((farm.slotsBusy / farm.slotsTotal) * 100) : 0;
  const body = html`<h1>Farm</h1>
    <p class="farm-now">
      <strong>${farm.slotsBusy} / ${farm.slotsTotal}</strong> CPU slots busy (${pct}%) · ${farm.waiting} jobs
      waiting · ${farm.running} running ·
      ${STATE_COLOURS.map(([state]) => html`${farm.clients[state]} ${state.replace("_", " ")} · `)}
      ${sampled ? html`<span class="muted">at ${new Date(latest.t).toISOString().slice(11, 16)} UTC</span> · ` : ""}
      <a href="/farm/history.json${hours === null ? "" : `?hours=${hours}`}">data</a>
    </p>
    <p class="toolbar">
      Show: ${hours === null ? html`<strong>${fitLabel}</strong> ` : html`<a href="/farm">${fitLabel}</a> `}
      ${CHART_HOURS.map((h) => (h === hours ? html`<strong>last ${h} h</strong> ` : html`<a href="/farm?hours=${h}">last ${h} h</a> `))}
      <span class="muted">one sample a minute, kept 24 h in Redis by the coordinators</span>
    </p>
    <div class="charts">${charts}</div>
    ${sharesTable(shares, canEdit)} ${shareCharts(shareSamples, hours, now)}
    ${sharesConfigured(shares) ? usersTable(users) : ""}`;
  return layout("Farm", "/farm", body);
}

/** Most bars drawn; beyond, frames are binned (each bar = the slowest of its bin, so outliers still show). */
const MAX_BARS = 600;

/**
 * Render time per frame of a parent, in child order: failed red, slower than 2x the median orange. The
 * seconds come from the parent's duration index (store/job-frames.ts childSeconds); the fields of a frame
 * (name, status) are read only for the frames the bars show, at most MAX_BARS.
 */
export async function renderTimeChart(ctx: Context, parentId: number, now = Date.now()): Promise<Html> {
  const ids = await childIds(ctx, parentId);
  const seconds = await childSeconds(ctx, parentId, ids, now);
  const done = seconds.filter(Number.isFinite).sort((a, b) => a - b);
  const median = done[Math.floor(done.length / 2)] ?? NaN;
  const bin = Math.max(1, Math.ceil(ids.length / MAX_BARS));
  // Each bar's frame: the slowest of its bin. A frame that never ran (NaN) ranks below every frame that ran:
  // a bin whose first frame never ran still shows the slowest of the others.
  const ran = (i: number): number => {
    const s = seconds[i] ?? NaN;
    return Number.isFinite(s) ? s : -1;
  };
  const shown: number[] = [];
  for (let start = 0; start < ids.length; start += bin) {
    let worst = start;
    for (let i = start; i < Math.min(ids.length, start + bin); i++) if (ran(i) > ran(worst)) worst = i;
    shown.push(worst);
  }
  const frames = new Map(
    (
      await readFrames(
        ctx,
        shown.map((i) => ids[i] as number),
      )
    ).map((f) => [f.id, f]),
  );
  const bars: Bar[] = shown.map((worst, b) => {
    const start = b * bin;
    const f = frames.get(ids[worst] as number);
    const failed = f !== undefined && isFinished(f.status) && f.status !== "succeeded";
    return {
      label:
        bin === 1
          ? `${f?.name ?? ""} (job ${ids[worst]})`
          : `frames ${start + 1}–${Math.min(ids.length, start + bin)}, slowest ${f?.name ?? ""}`,
      value: seconds[worst] ?? NaN,
      color: failed ? "#c62828" : (seconds[worst] ?? 0) > 2 * median && median > 0 ? "#ef6c00" : "#1565c0",
    };
  });
  return barChart({
    id: "chart-render-times",
    title: "Render time per frame",
    unit: "s",
    ...(Number.isFinite(median) ? { note: `median ${Math.round(median)} s` } : {}),
    bars,
  });
}

export async function clientChart(ctx: Context, clientId: number, now = Date.now()): Promise<Html> {
  const samples = await clientHistory(ctx, clientId);
  const from = Math.min(now - 3600_000, samples[0]?.t ?? now);
  const times = samples.map((s) => s.t);
  return html`${timeChart({
    id: "chart-client-load",
    title: "Load and running jobs",
    times,
    from,
    to: now,
    series: [
      { name: "load", color: "#1565c0", values: samples.map((s) => s.load) },
      { name: "jobs", color: "#ef6c00", values: samples.map((s) => s.jobs) },
    ],
  })}`;
}
