// The farm's utilisation at one moment: CPU slots busy and total, clients by state (shared/client-state.ts),
// jobs waiting and running. /metrics reports it at scrape time, the Farm page without a recent sample, and the
// history sampler (./history.ts) keeps one sample a minute for the charts. No client record is read whole:
// every client's state is decided inside Redis (scanClients.lua, an id and a state back per client), the CPUs
// of the busy and idle ones read the same way, then the job sets of the busy ones and one pipelined HMGET per
// running job, and two ZCARDs. Reading every client's whole record for this cost /metrics 1.5–2.3 s at 10,000
// blades on a loaded box (bench dashboard), now 0.4–0.5 s.

import { CLIENT_STATES, type ClientState } from "../../shared/client-state.js";
import type { Context } from "../context.js";
import { cpusAndQueue, type Utilisation } from "../store/farm-stats.js";
import { allClientIds, assignedJobIds } from "../store/clients.js";
import { clientStates, scanColumn } from "../store/client-list.js";

export async function readUtilisation(ctx: Context, now = Date.now()): Promise<Utilisation> {
  const { redis, keys } = ctx;
  const interval = ctx.settings.heartbeatIntervalMs;
  const states = await clientStates(redis, keys, await allClientIds(ctx), now, interval);
  const clients = Object.fromEntries(CLIENT_STATES.map((s) => [s, 0])) as Record<ClientState, number>;
  const open: number[] = [];
  const busy: number[] = [];
  for (const [id, state] of states) {
    clients[state]++;
    if (state === "busy" || state === "idle") open.push(id);
    if (state === "busy") busy.push(id);
  }
  const [cpusOfClient, jobsOfClient] = await Promise.all([
    scanColumn(redis, keys, open, now, interval, "", "cpus"),
    assignedJobIds(ctx, busy),
  ]);
  const jobIds = jobsOfClient.flat();
  const { cpus: jobCpus, waiting, running } = await cpusAndQueue(ctx, jobIds);
  const cpusOfJob = new Map(jobIds.map((id, i) => [id, Math.max(1, jobCpus[i] ?? 1)]));
  const heldBy = new Map(
    busy.map((id, i) => [
      id,
      (jobsOfClient[i] ?? []).reduce((sum, job) => sum + (cpusOfJob.get(job) ?? 1), 0),
    ]),
  );
  let slotsTotal = 0;
  let slotsBusy = 0;
  for (const id of open) {
    const cpus = Math.max(0, Number(cpusOfClient.get(id) ?? 0));
    slotsTotal += cpus;
    slotsBusy += Math.min(cpus, heldBy.get(id) ?? 0);
  }
  return { slotsTotal, slotsBusy, clients, waiting, running };
}
