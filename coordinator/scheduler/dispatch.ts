// Dispatch: hands runnable jobs to the clients connected to THIS coordinator. Each coordinator schedules
// its own agents; moveToAssigned.lua decides every race in Redis, so several coordinators reading one
// queue never hand out a job twice. A pass runs whenever something may have become possible (a job
// became runnable, a client connected, freed up or changed) — push, not poll — and passes never overlap:
// a trigger during a pass just asks for one more.

import type { Context } from "../context.js";
import { readClient } from "../store/clients.js";
import { hashFromFlat, type JobHash } from "./assign.js";
import { satisfiesAll } from "./conditions.js";
import { FarmClient } from "./farmClient.js";
import { readJobInfos, type JobInfo } from "./jobInfo.js";
import type { Scripts } from "./scripts.js";

/** Queue entries read per round trip, and at most per pass (jobs nobody here can run are skipped). */
const PAGE = 256;
const MAX_SCAN = 4096;
/** Cap on cached job infos; the cache is dropped whole when it grows past this. */
const MAX_CACHED_JOBS = 50_000;

export interface DispatchHooks {
  /** Sends `assign` to every client of a freshly assigned job (locally or through its control channel). */
  deliver(job: JobHash): void;
  scripts: Scripts;
}

export class Dispatcher {
  readonly clients = new Map<number, FarmClient>();
  private readonly infos = new Map<number, JobInfo>();
  /** Jobs refused for resources since the last job left a client: retried once something is released. */
  private readonly resourceBlocked = new Set<number>();
  private running = false;
  private again = false;
  private closed = false;
  private rotate = 0;
  /** Group names and ids per client (refreshed by the link's maintenance timer). */
  private groups = new Map<number, Set<string>>();

  constructor(
    private readonly ctx: Context,
    private readonly hooks: DispatchHooks,
  ) {}

  async addClient(id: number): Promise<FarmClient | null> {
    const record = await readClient(this.ctx, id);
    if (!record) return null;
    const client = this.clients.get(id) ?? new FarmClient(id);
    client.update(record);
    client.groups = this.groups.get(id) ?? new Set();
    await this.loadJobs(client);
    this.clients.set(id, client);
    this.trigger();
    return client;
  }

  removeClient(id: number): void {
    this.clients.delete(id);
  }

  /** Re-reads a client's record and running jobs (after a refusal, a flag change, an event). */
  async refreshClient(id: number): Promise<void> {
    const client = this.clients.get(id);
    if (!client) return;
    const record = await readClient(this.ctx, id);
    if (!record) {
      this.clients.delete(id);
      return;
    }
    client.update(record);
    await this.loadJobs(client);
    this.trigger();
  }

  setGroups(groupsByClient: Map<number, Set<string>>): void {
    this.groups = groupsByClient;
    for (const client of this.clients.values()) client.groups = groupsByClient.get(client.id) ?? new Set();
  }

  /** A job left a client (finished, cancelled, ejected, abandoned): its CPUs are free again. */
  jobLeft(clientId: number, jobId: number): void {
    this.clients.get(clientId)?.jobs.delete(jobId);
    this.resourceBlocked.clear();
    this.trigger();
  }

  /**
   * An `{p}events` notice about a job. Jobs leaving a client come as "released" notices (jobLeft), so this
   * only forgets the cached info and looks again when something may have become possible.
   */
  jobChanged(jobId: number, status: string): void {
    this.infos.delete(jobId);
    if (status === "running" || status === "pausing" || status === "paused" || status === "resuming") return;
    if (status !== "runnable" && status !== "queued") this.resourceBlocked.clear();
    this.trigger();
  }

  retryResources(): void {
    this.resourceBlocked.clear();
    this.trigger();
  }

  trigger(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    setImmediate(() => void this.loop());
  }

  close(): void {
    this.closed = true;
  }

  private async loop(): Promise<void> {
    try {
      do {
        this.again = false;
        await this.pass();
      } while (this.again && !this.closed);
    } catch (err) {
      void this.ctx.recordError({ message: `dispatch: ${(err as Error).message}`, time: Date.now() });
      // Redis trouble: try again shortly rather than spin.
      setTimeout(() => this.trigger(), 500).unref();
    } finally {
      this.running = false;
    }
  }

  private async loadJobs(client: FarmClient): Promise<void> {
    const ids = (await this.ctx.redis.smembers(this.ctx.keys.clientJobs(client.id))).map(Number);
    const infos = await this.infosFor(ids);
    client.jobs.clear();
    for (const info of infos) if (info) client.jobs.set(info.id, { cpus: info.cpus, tags: info.tags });
  }

  private async infosFor(ids: number[]): Promise<(JobInfo | null)[]> {
    const missing = ids.filter((id) => !this.infos.has(id));
    if (missing.length > 0) {
      if (this.infos.size > MAX_CACHED_JOBS) this.infos.clear();
      const read = await readJobInfos(this.ctx, missing);
      read.forEach((info, i) => {
        if (info) this.infos.set(missing[i] as number, info);
      });
    }
    return ids.map((id) => this.infos.get(id) ?? null);
  }

  private openClients(): FarmClient[] {
    const open = [...this.clients.values()].filter((c) => c.open);
    // Start each pass at a different client so work spreads over the farm instead of piling on the first.
    if (open.length > 1) {
      const k = this.rotate++ % open.length;
      return [...open.slice(k), ...open.slice(0, k)];
    }
    return open;
  }

  private pick(job: JobInfo, open: FarmClient[]): FarmClient[] {
    const out: FarmClient[] = [];
    for (const client of open) {
      if (!client.open || !client.fits(job) || !satisfiesAll(client, job.conditions)) continue;
      out.push(client);
      if (out.length >= job.maxHosts) break;
    }
    return out;
  }

  private async pass(): Promise<void> {
    let open = this.openClients();
    const attempts: Promise<void>[] = [];
    for (let offset = 0; open.length > 0 && offset < MAX_SCAN; offset += PAGE) {
      const ids = (
        await this.ctx.redis.zrange(this.ctx.keys.queue, String(offset), String(offset + PAGE - 1))
      ).map(Number);
      if (ids.length === 0) break;
      const infos = await this.infosFor(ids);
      for (const job of infos) {
        if (!job || this.resourceBlocked.has(job.id)) continue;
        const chosen = this.pick(job, open);
        if (chosen.length === 0) continue;
        // Reserve locally so the rest of this pass does not propose the same CPUs again.
        for (const client of chosen) client.jobs.set(job.id, { cpus: job.cpus, tags: job.tags });
        attempts.push(this.assign(job, chosen));
        open = open.filter((c) => c.open);
        if (open.length === 0) break;
      }
      if (ids.length < PAGE) break;
    }
    await Promise.all(attempts);
  }

  private async assign(job: JobInfo, chosen: FarmClient[]): Promise<void> {
    const reply = (await this.hooks.scripts.run("moveToAssigned", job.id, ...chosen.map((c) => c.id))) as (
      string | number | string[]
    )[];
    const kind = reply[0];
    if (kind === "assigned") {
      for (const client of chosen) if (client.heldFor === job.id) client.heldFor = null;
      const hash = hashFromFlat(reply[2] as string[]);
      this.hooks.deliver(hash);
      return;
    }
    for (const client of chosen) client.jobs.delete(job.id);
    if (kind === "held") {
      for (const client of chosen) client.heldFor = job.id;
      return;
    }
    if (kind === "resources") {
      this.resourceBlocked.add(job.id);
      return;
    }
    // "busy": our picture of a client was wrong (another coordinator, a flag change): re-read and retry;
    // "gone": someone else took the job or it left the queue.
    if (kind === "busy") await Promise.all(chosen.map((c) => this.refreshClient(c.id)));
    this.again = true;
  }
}
