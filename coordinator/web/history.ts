// The once-a-minute sampler of the farm history (kept in Redis by coordinator/store/history.ts): every
// coordinator checks every CHECK_MS; the one that claims the minute samples the farm (./utilisation.ts) and
// the shares' counters (store/shares.ts) and each responding client's load and job count, and appends them;
// the others skip that minute.

import type { Context } from "../context.js";
import { PeriodicTask } from "../periodic-task.js";
import { appendSamples, claimMinute, MAX_CHARTED_SHARES, type ShareSample } from "../store/history.js";
import { shareRows, sharesConfigured, type ShareRow } from "../store/shares.js";
import { allClientIds } from "../store/clients.js";
import { describeClients } from "../store/client-view.js";
import { readUtilisation } from "./utilisation.js";

const MINUTE = 60_000;
/** How often each coordinator checks whether this minute's sample is taken. */
const CHECK_MS = 10_000;

/** Takes this minute's sample unless another coordinator already did. Returns whether it wrote. */
export async function sampleFarm(ctx: Context, now = Date.now()): Promise<boolean> {
  const minute = now - (now % MINUTE);
  if (!(await claimMinute(ctx, minute))) return false;
  const [farm, clients, shares] = await Promise.all([
    readUtilisation(ctx),
    clientSamples(ctx),
    shareRows(ctx),
  ]);
  await appendSamples(ctx, minute, farm, clients, chartedShares(shares));
  return true;
}

/** Clients read per round trip of a sample: 10,000 blades read in one go held the event loop ~0.2 s. */
const CLIENT_CHUNK = 500;

/** Each responding client's load and running jobs, CLIENT_CHUNK clients at a time. */
async function clientSamples(ctx: Context): Promise<{ id: number; load: number; jobs: number }[]> {
  const ids = await allClientIds(ctx);
  const out: { id: number; load: number; jobs: number }[] = [];
  for (let from = 0; from < ids.length; from += CLIENT_CHUNK) {
    const rows = await describeClients(ctx, ids.slice(from, from + CLIENT_CHUNK), [
      "id",
      "load",
      "responding",
      "runningJobs",
    ]);
    for (const c of rows) {
      if (typeof c["id"] !== "number" || c["responding"] === false) continue;
      const load = typeof c["load"] === "number" ? c["load"] : 0;
      out.push({ id: c["id"], load, jobs: Array.isArray(c["runningJobs"]) ? c["runningJobs"].length : 0 });
    }
  }
  return out;
}

/**
 * The shares a minute's sample keeps: none on a farm without shares (only an unconfigured `default`: the
 * utilisation chart says it all), else the busiest MAX_CHARTED_SHARES, by name.
 */
export function chartedShares(rows: readonly ShareRow[]): ShareSample[] {
  if (!sharesConfigured(rows)) return [];
  return [...rows]
    .sort((a, b) => b.running - a.running || a.name.localeCompare(b.name))
    .slice(0, MAX_CHARTED_SHARES)
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((r) => ({ name: r.name, running: r.running, guarantee: r.guarantee, burst: r.burstSlots }));
}

/** The once-a-minute sampler of this process: started and stopped by main.ts with the other parts. */
export class HistorySampler {
  private readonly task: PeriodicTask;

  constructor(ctx: Context) {
    // Samples at start, then checks every CHECK_MS. Redis down: the chart shows a gap for the minute, nothing
    // else to do.
    this.task = new PeriodicTask(
      () => sampleFarm(ctx),
      (err) => void ctx.recordError({ message: `farm history: ${err.message}`, time: Date.now() }),
      CHECK_MS,
      0,
    );
  }

  start(): void {
    this.task.start();
  }

  /** Stops sampling; resolves once a sample in progress is written (or failed). */
  async stop(): Promise<void> {
    await this.task.stop();
  }
}
