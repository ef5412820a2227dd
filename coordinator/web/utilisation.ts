// The farm's utilisation at one moment: CPU slots busy and total, clients by state (shared/client-state.ts),
// jobs waiting and running. /metrics reports it at scrape time; the history sampler (./history.ts) keeps one
// sample a minute for the charts. Cost: the state attributes of every client (store/client-view.ts, as
// getClients has them), one pipelined HGET cpus per running job, two ZCARDs.

import {
  CLIENT_STATES,
  CLIENT_STATE_ATTRIBUTES,
  clientState,
  type ClientState,
} from "../../shared/client-state.js";
import type { Context } from "../context.js";
import { cpusAndQueue, type Utilisation } from "../store/farm-stats.js";
import { allClientIds } from "../store/clients.js";
import { describeClients } from "../store/client-view.js";

interface ClientRow {
  id?: number;
  label?: string;
  cpus?: number;
  lastHeartbeat?: Date | null;
  responding?: boolean;
  disabled?: boolean;
  available?: boolean;
  runningJobs?: number[];
}

export const UTILISATION_CLIENT_ATTRIBUTES = [
  "id",
  "label",
  "cpus",
  "lastHeartbeat",
  ...CLIENT_STATE_ATTRIBUTES,
];

/** The snapshot, and the client rows it was computed from (for per-client metrics). */
export async function readUtilisation(ctx: Context): Promise<{ now: Utilisation; rows: ClientRow[] }> {
  const rows: ClientRow[] = await describeClients(
    ctx,
    await allClientIds(ctx),
    UTILISATION_CLIENT_ATTRIBUTES,
  );
  const clients = Object.fromEntries(CLIENT_STATES.map((s) => [s, 0])) as Record<ClientState, number>;
  const open = rows.filter((c) => {
    const state = clientState(c);
    clients[state]++;
    return state === "busy" || state === "idle";
  });
  const jobIds = open.flatMap((c) => c.runningJobs ?? []);
  const { cpus: jobCpus, waiting, running } = await cpusAndQueue(ctx, jobIds);
  const cpusOf = new Map(jobIds.map((id, i) => [id, Math.max(1, jobCpus[i] ?? 1)]));
  let slotsTotal = 0;
  let slotsBusy = 0;
  for (const c of open) {
    const cpus = Math.max(0, Number(c.cpus ?? 0));
    slotsTotal += cpus;
    const held = (c.runningJobs ?? []).reduce((sum, id) => sum + (cpusOf.get(id) ?? 1), 0);
    slotsBusy += Math.min(cpus, held);
  }
  return {
    now: {
      slotsTotal,
      slotsBusy,
      clients,
      waiting,
      running,
    },
    rows,
  };
}
