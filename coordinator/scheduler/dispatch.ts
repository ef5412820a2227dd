// Dispatch: hands runnable jobs to the clients connected to THIS coordinator. Each coordinator schedules
// its own agents; moveToAssigned.lua decides every race in Redis, so several coordinators reading one
// queue never hand out a job twice. A pass runs whenever something may have become possible (a job
// became runnable, a client connected, freed up or changed) — push, not poll — and passes never overlap:
// a trigger during a pass just asks for one more.

import { notRespondingAfterMs } from "../liveness.js";
import { ALIVE_STATUSES, WAITING_STATUSES, statusIn } from "../../shared/statuses.js";
import { DISPATCH_DEFAULTS, type Context } from "../context.js";
import { blockedRoots } from "../store/blades.js";
import { jobsOfClient, readClient } from "../store/clients.js";
import { readJobFields } from "../store/job-fields.js";
import { classHeads, classPages, classPagesWithRoots, headsWithScores } from "../store/queue.js";
import type { JobRecord } from "../store/jobs.js";
import { bookedGpus, hashFromFlat } from "./assign.js";
import { NO_GROUPS } from "./conditions.js";
import { FarmClient } from "./farm-client.js";
import { readJobInfos, type JobInfo } from "./job-info.js";
import type { Scripts } from "../store/dispatch-scripts.js";
import { readRunningSlots } from "../store/shares.js";
import { band, ShareBook } from "./share-book.js";
import { capText, refusalText } from "./waiting-reasons.js";

/** Cap on cached job infos and class templates; a cache is dropped whole when it grows past this. */
const MAX_CACHED_JOBS = 50_000;
const MAX_CACHED_CLASSES = 100_000;
/** Cap on remembered retries to keep off the blade that failed them, on noted cap reasons, on cached job roots. */
const MAX_AVOIDED = 100_000;
const MAX_CACHED_ROOTS = 100_000;

/** One requirement class during a pass: its jobs read so far, in queue order. */
interface Cursor {
  template: JobInfo;
  /** Read but not yet considered, lowest score first. */
  jobs: { id: number; score: number }[];
  /** Where the next read starts: the head's score (inclusive) at first, then after the last job read. */
  from: string;
  /** The same as a number: every job of the class not read yet scores at least this. */
  after: number;
  /** Jobs to read next time. */
  page: number;
  /** The class has no more jobs. */
  done: boolean;
  /** Its {p}queue:heads score is out of date: a job of it left, or its head is past that score. */
  stale: boolean;
}

export interface DispatchHooks {
  /** Sends `assign` to every client of a freshly assigned job (locally or through its control channel). */
  deliver(job: JobRecord): void;
  scripts: Scripts;
}

export class Dispatcher {
  readonly clients = new Map<number, FarmClient>();
  /** Clients whose first read (addClient) is under way, not in `clients` yet. */
  private readonly adding = new Map<number, FarmClient>();
  private readonly infos = new Map<number, JobInfo>();
  /** One job info per requirement class: what its jobs need (all of them alike). */
  private readonly classes = new Map<string, JobInfo>();
  /**
   * Classes refused for resources or held back by a running limit (maxRunning, a share's burst, a user's
   * cap: each such class holds one tree, share or user) since the last job left a client: retried once
   * something is released.
   */
  private readonly resourceBlocked = new Set<string>();
  /** Shares and their running slots (share-book.ts); neutral while no share is configured. */
  readonly shares = new ShareBook();
  /** Job -> the cap reason last written to its waitingFor (noteCapped), capped like `avoided`. */
  private readonly capNoted = new Map<number, string>();
  /** Job -> the client its last attempt failed on: its retry goes elsewhere while it can ({p}events "avoid"). */
  private readonly avoided = new Map<number, number>();
  /** Job -> its tree's root, read only while some client here is blocklisted for a tree. */
  private readonly roots = new Map<number, number>();
  /** Per pass: "is there another client for this class and tree besides this one" (see keptOff). */
  private others = new Map<string, boolean>();
  private running = false;
  /** The passes running or due since the last trigger() that started them (settled()). */
  private passes: Promise<void> = Promise.resolve();
  private again = false;
  private closed = false;
  private rotate = 0;
  /** Group names and ids per client (refreshed by the scheduler's maintenance, scheduler/index.ts). */
  private groups = new Map<number, Set<string>>();

  /** Classes read from {p}queue:heads per round trip. */
  private readonly headsPage: number;
  /** Most jobs read from one class per round trip (a class's reads start at 2 and double). */
  private readonly classPage: number;

  constructor(
    private readonly ctx: Context,
    private readonly hooks: DispatchHooks,
  ) {
    ({ headsPage: this.headsPage, classPage: this.classPage } = ctx.settings.dispatch ?? DISPATCH_DEFAULTS);
  }

  async addClient(id: number): Promise<FarmClient | null> {
    const client = this.clients.get(id) ?? this.adding.get(id) ?? new FarmClient(id);
    // Until it joins `clients`, jobLeft finds it here: a job that ends during this read is not taken back.
    this.adding.set(id, client);
    const added = await this.whileLeavingNoted(client, async (left) => {
      const record = await readClient(this.ctx, id);
      if (!record) return false;
      // Only a hello adds a client, and the hello recorded a heartbeat (store/clients.ts).
      client.lastHeartbeat = Date.now();
      client.silentAfterMs = notRespondingAfterMs(this.ctx.settings.heartbeatIntervalMs);
      client.update(record);
      client.setGroups(this.groups.get(id) ?? NO_GROUPS);
      await this.loadJobs(client, left);
      await this.loadHealth(client);
      return true;
    }).finally(() => this.adding.delete(id));
    if (!added) return null;
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
    const found = await this.whileLeavingNoted(client, async (left) => {
      const record = await readClient(this.ctx, id);
      if (!record) return false;
      client.update(record);
      await this.loadJobs(client, left);
      await this.loadHealth(client);
      return true;
    });
    if (!found) {
      this.clients.delete(id);
      return;
    }
    this.trigger();
  }

  /** A heartbeat of a client here was recorded at `at` (link/connection.ts): one that had gone silent is back. */
  heartbeat(id: number, at: number): void {
    const client = this.clients.get(id);
    if (!client) return;
    const wasSilent = !client.responding;
    client.lastHeartbeat = at;
    if (wasSilent) this.trigger();
  }

  /** A job's attempt failed on `clientId`: its retry should go to another client if there is one. */
  avoid(jobId: number, clientId: number): void {
    if (this.avoided.size >= MAX_AVOIDED) this.avoided.clear();
    this.avoided.set(jobId, clientId);
  }

  /** The client's blocklisted trees, and a pass when its quarantine ends (probation begins). */
  private async loadHealth(client: FarmClient): Promise<void> {
    client.blockedRoots = new Set(await blockedRoots(this.ctx, client.id));
    const wait = client.quarantinedUntil - Date.now();
    if (wait > 0) setTimeout(() => this.trigger(), wait + 50).unref();
  }

  setGroups(groupsByClient: Map<number, Set<string>>): void {
    this.groups = groupsByClient;
    for (const client of this.clients.values()) client.setGroups(groupsByClient.get(client.id) ?? NO_GROUPS);
  }

  /** A job left a client (finished, cancelled, ejected, abandoned): its CPUs are free again. */
  jobLeft(clientId: number, jobId: number): void {
    const client = this.clients.get(clientId) ?? this.adding.get(clientId);
    if (client) {
      client.jobs.delete(jobId);
      for (const left of client.leftDuringRead) left.add(jobId);
    }
    this.resourceBlocked.clear();
    this.trigger();
  }

  /**
   * An `{p}events` notice about a job. Jobs leaving a client come as "released" notices (jobLeft), so this
   * only forgets the cached info and looks again when something may have become possible.
   */
  jobChanged(jobId: number, status: string): void {
    this.infos.delete(jobId);
    if (statusIn(ALIVE_STATUSES, status)) return;
    if (!statusIn(WAITING_STATUSES, status)) this.resourceBlocked.clear();
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
    this.passes = new Promise((resolve) => setImmediate(resolve)).then(() => this.loop());
  }

  /** Resolves once no pass runs or is due (the passes asked for so far are done). */
  settled(): Promise<void> {
    return this.passes;
  }

  /** Stops dispatching; resolves once a pass in progress is over (no Redis call of ours is left in flight). */
  close(): Promise<void> {
    this.closed = true;
    return this.passes;
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

  /** Runs `read` with the set of the jobs that leave `client` (jobLeft) while it runs, for loadJobs. */
  private async whileLeavingNoted<T>(
    client: FarmClient,
    read: (left: Set<number>) => Promise<T>,
  ): Promise<T> {
    const left = new Set<number>();
    client.leftDuringRead.add(left);
    try {
      return await read(left);
    } finally {
      client.leftDuringRead.delete(left);
    }
  }

  /**
   * Re-reads the client's running jobs. A job that left it since the re-read began (`left`, whileLeavingNoted) is
   * not taken back from the reply: its release notice may have come first, and a job taken back would hold
   * its CPUs here for good (no second release comes), leaving the client full with nothing running.
   */
  private async loadJobs(client: FarmClient, left: Set<number>): Promise<void> {
    const ids = await jobsOfClient(this.ctx, client.id);
    const infos = await this.infosFor(ids);
    // The devices a running job holds are in its `clients`, read only on a blade with GPUs.
    const runs = client.gpuDevices.length > 0 ? await readJobFields(this.ctx, ids, ["clients"]) : [];
    client.jobs.clear();
    infos.forEach((info, i) => {
      if (!info || left.has(info.id)) return;
      const gpus = bookedGpus(runs[i]?.[0] ?? null, client.id);
      client.jobs.set(info.id, { cpus: info.cpus, tags: info.tags, gpus });
    });
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

  /**
   * The open clients, each pass starting at a different one so work spreads over the farm instead of piling
   * on the first. A set: the pass drops a client that fills up without a walk over the others.
   */
  private openClients(): Set<FarmClient> {
    const open: FarmClient[] = [];
    const now = Date.now();
    for (const c of this.clients.values()) if (c.openAt(now)) open.push(c);
    const k = open.length > 1 ? this.rotate++ % open.length : 0;
    const rotated = new Set<FarmClient>();
    for (let i = 0; i < open.length; i++) rotated.add(open[(k + i) % open.length] as FarmClient);
    return rotated;
  }

  /** The open clients to propose for `job`; `keptOff` when some fitted but were kept off it (keptOff()). */
  private pick(job: JobInfo, open: Set<FarmClient>): { chosen: FarmClient[]; keptOff: boolean } {
    const chosen: FarmClient[] = [];
    let keptOff = false;
    for (const client of open) {
      if (!client.open || !client.canRun(job) || !client.fits(job)) continue;
      if (this.keptOff(job, client)) {
        keptOff = true;
        continue;
      }
      chosen.push(client);
      if (chosen.length >= job.maxHosts) break;
    }
    return { chosen, keptOff };
  }

  /**
   * A client that just failed the job, or is blocklisted for its tree, is kept off it while another client
   * here could run it (not quarantined, not blocklisted for the tree): a farm whose only eligible blade it is
   * still runs the retry there, as HQueue would. Soft, so it lives here and not in moveToAssigned.lua.
   */
  private keptOff(job: JobInfo, client: FarmClient): boolean {
    const root = this.roots.get(job.id);
    const blocked = root !== undefined && client.blockedRoots.has(root);
    if (!blocked && this.avoided.get(job.id) !== client.id) return false;
    const key = `${job.cls} ${root ?? ""} ${client.id}`;
    let other = this.others.get(key);
    if (other === undefined) {
      other = false;
      for (const c of this.clients.values()) {
        if (c === client || c.disabled || !c.available || c.terminated || c.quarantined || !c.canRun(job))
          continue;
        if (root !== undefined && c.blockedRoots.has(root)) continue;
        other = true;
        break;
      }
      this.others.set(key, other);
    }
    return other;
  }

  /**
   * One dispatch pass: the best job each open client can run, best jobs first. Jobs of one requirement class
   * are alike here, so a pass merges the classes in queue order, reading only the classes some open client
   * could run and only as far as it hands out work: its cost follows the open clients and the classes, never
   * the queue's depth or the jobs nobody here can run.
   */
  private async pass(): Promise<void> {
    // Nothing runnable (a client on hold waits for a runnable job too): one ZCARD instead of a walk over every
    // open client, which on a farm of 10,000 idle blades cost 10-60 ms a pass, passes that the blades' hellos,
    // heartbeats back from silence and the maintenance trigger while no job waits.
    if ((await this.ctx.redis.zcard(this.ctx.keys.queue)) === 0) return;
    const attempts: Promise<void>[] = [];
    const open = this.openClients();
    this.others = new Map();
    // Job roots are read with the class pages only while some client here is blocklisted for a tree.
    let needRoots = false;
    for (const c of open) if (c.blockedRoots.size > 0) needRoots = true;
    // A client on hold for a multi-host job takes only that job (moveToAssigned adds every held client).
    const holding = new Map<number, FarmClient[]>();
    for (const c of open)
      if (c.heldFor !== null) holding.set(c.heldFor, [...(holding.get(c.heldFor) ?? []), c]);
    if (holding.size > 0) {
      const held = await this.infosFor([...holding.keys()]);
      for (const job of held) if (job) attempts.push(this.assign(job, holding.get(job.id) ?? []));
      for (const c of open) if (c.heldFor !== null) open.delete(c);
    }
    // With shares, jobs of equal priority go by their share's running slots: read the counters once a pass.
    const ordering = this.shares.ordering;
    const capping = this.shares.capping;
    if ((ordering || capping) && open.size > 0) this.shares.setRunning(await readRunningSlots(this.ctx));
    const active: Cursor[] = [];
    const seen = new Set<string>();
    const touched: Cursor[] = [];
    let headsRead = 0;
    let pages = 0;
    let boundary = -Infinity;
    while (open.size > 0) {
      let best: Cursor | null = null;
      for (const c of active) {
        const head = c.jobs[0];
        if (head && (best === null || this.before(c, head.score, best))) best = c;
      }
      // Classes read to their end so far are read further only when they could hold a better job.
      const drained = active.filter(
        (c) => c.jobs.length === 0 && !c.done && (best === null || this.before(c, c.after, best)),
      );
      if (drained.length > 0) {
        await this.readClasses(drained, needRoots);
        continue;
      }
      const head = best?.jobs[0];
      // With shares, an unread class of the same priority may hold a share further below its fair share.
      if (!best || !head || head.score > boundary || (ordering && band(boundary) <= band(head.score))) {
        // Classes not read yet may hold a better job: read the next page of class heads.
        if (boundary === Infinity) break;
        // The first page fits the open clients (each takes a job; with exact heads the best jobs sit in the
        // first classes); later pages double, so classes nobody here can run are skipped in few reads.
        const size = Math.min(this.headsPage, (open.size + 2) * 2 ** pages++);
        const page = await this.readHeads(headsRead, size, open, seen);
        headsRead += size;
        active.push(...page.cursors);
        touched.push(...page.cursors);
        boundary = page.last;
        continue;
      }
      best.jobs.shift();
      best.stale = true;
      const job = { ...best.template, id: head.id };
      // A class whose share or user is at its cap gets nothing more this pass, whatever its priority; its
      // head job says why.
      const capped = capping ? this.shares.capRefusal(job, job.cpus * job.minHosts) : null;
      if (capped !== null) {
        this.noteCapped(job.id, capText(capped));
        active.splice(active.indexOf(best), 1);
        continue;
      }
      const { chosen, keptOff } = this.pick(job, open);
      if (chosen.length === 0) {
        // Kept off this job only (a failed retry, a blocklisted tree): the class's next job may suit them.
        if (keptOff) continue;
        // No open client fits this job now, so none fits any job of its class: leave the class.
        active.splice(active.indexOf(best), 1);
        continue;
      }
      // Reserve locally so the rest of this pass does not propose the same CPUs and GPUs again.
      for (const client of chosen)
        client.jobs.set(job.id, { cpus: job.cpus, tags: job.tags, gpus: client.freeGpus(job) ?? [] });
      if (ordering || capping) this.shares.hold(job, job.cpus * chosen.length);
      attempts.push(this.assign(job, chosen));
      // Only the chosen clients changed: drop those now full (a filter of all open clients per job was
      // quadratic on a farm of thousands of idle blades).
      for (const c of chosen) if (!c.open) open.delete(c);
    }
    await Promise.all(attempts);
    // Heads left behind by this pass (jobs taken, classes emptied) get exact scores again, so the next pass
    // finds the best classes first instead of reading every class with an old, low bound. A lone class needs
    // no exact bound (nothing to order it against) unless it emptied. Not awaited: commands on one
    // connection run in order, so the next pass reads the refreshed heads.
    const stale = touched.filter((c) => c.stale && (touched.length > 1 || (c.done && c.jobs.length === 0)));
    if (stale.length > 0) this.hooks.scripts.pruneClasses(stale.map((c) => c.template.cls)).catch(() => {});
  }

  /** Writes a capped job's waiting reason once (moveToAssigned words the same when it refuses a run). */
  private noteCapped(jobId: number, reason: string): void {
    if (this.capNoted.get(jobId) === reason) return;
    if (this.capNoted.size >= MAX_AVOIDED) this.capNoted.clear();
    this.capNoted.set(jobId, reason);
    this.hooks.scripts.run("setWaiting", jobId, reason, 0).catch(() => {});
  }

  /**
   * Should the job scoring `score` in class `c` go before the head of `best`? Queue order (priority, then
   * FIFO), except that with shares jobs of equal priority go by share first (share-book.ts compare).
   */
  private before(c: Cursor, score: number, best: Cursor): boolean {
    const other = (best.jobs[0] as { score: number }).score;
    if (this.shares.ordering && c !== best && band(score) === band(other)) {
      const order = this.shares.compare(c.template, best.template);
      if (order !== 0) return order < 0;
    }
    return score < other;
  }

  /**
   * `size` classes from {p}queue:heads (best head first), as cursors for those some open client could run.
   * `last` is the head score of the last class read: every class not read yet starts after it (the scores
   * there are lower bounds of each class's head, util.lua, so that still holds).
   */
  private async readHeads(
    offset: number,
    size: number,
    open: Set<FarmClient>,
    seen: Set<string>,
  ): Promise<{ cursors: Cursor[]; last: number }> {
    const flat = await headsWithScores(this.ctx, offset, size);
    const classes: { cls: string; score: number }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const cls = flat[i] as string;
      if (seen.has(cls) || this.resourceBlocked.has(cls)) continue;
      seen.add(cls);
      classes.push({ cls, score: Number(flat[i + 1]) });
    }
    await this.learnClasses(classes.map((c) => c.cls).filter((cls) => !this.classes.has(cls)));
    const cursors: Cursor[] = [];
    for (const { cls, score } of classes) {
      const template = this.classes.get(cls);
      if (!template || !someCanRun(open, template)) continue;
      cursors.push({
        template,
        jobs: [],
        from: String(score),
        after: score,
        // Two at first: a class whose next job is far behind then needs no second read to show it.
        page: Math.min(2, this.classPage),
        done: false,
        stale: false,
      });
    }
    const full = flat.length === 2 * size;
    return { cursors, last: full ? Number(flat[flat.length - 1]) : Infinity };
  }

  /** Reads the template of each new class from its head job (every job of a class needs the same). */
  private async learnClasses(fresh: string[]): Promise<void> {
    if (fresh.length === 0) return;
    const heads = await classHeads(this.ctx, fresh);
    await this.hooks.scripts.pruneClasses(fresh.filter((_, i) => heads[i] === 0));
    const infos = await readJobInfos(
      this.ctx,
      heads.filter((id) => id > 0),
    );
    if (this.classes.size + infos.length > MAX_CACHED_CLASSES) this.classes.clear();
    for (const info of infos) if (info && info.cls !== "") this.classes.set(info.cls, info);
  }

  /** The next jobs of each cursor's class, in one round trip. */
  private async readClasses(cursors: Cursor[], needRoots: boolean): Promise<void> {
    const requests = cursors.map((c) => ({ cls: c.template.cls, from: c.from, count: c.page }));
    let replies: string[][];
    if (needRoots) {
      const read = await classPagesWithRoots(this.ctx, requests);
      replies = read.pages;
      if (this.roots.size > MAX_CACHED_ROOTS) this.roots.clear();
      read.pages.forEach((flat, i) => {
        const roots = read.roots[i] ?? [];
        for (let k = 0; k + 1 < flat.length; k += 2) this.roots.set(Number(flat[k]), Number(roots[k / 2]));
      });
    } else replies = await classPages(this.ctx, requests);
    cursors.forEach((c, i) => {
      const flat = replies[i] ?? [];
      for (let k = 0; k + 1 < flat.length; k += 2)
        c.jobs.push({ id: Number(flat[k]), score: Number(flat[k + 1]) });
      if (flat.length < 2 * c.page) c.done = true;
      // At the first read: an empty class, or a head past the class's bound in {p}queue:heads.
      if (!c.from.startsWith("(") && (flat.length === 0 || flat[1] !== c.from)) c.stale = true;
      const last = c.jobs[c.jobs.length - 1];
      if (last) {
        c.from = `(${last.score}`;
        c.after = last.score;
      }
      c.page = Math.min(this.classPage, c.page * 2);
    });
  }

  private async assign(job: JobInfo, chosen: FarmClient[]): Promise<void> {
    const reply = (await this.hooks.scripts.run("moveToAssigned", job.id, ...chosen.map((c) => c.id))) as (
      string | number | string[]
    )[];
    const kind = reply[0];
    if (kind === "assigned") {
      this.avoided.delete(job.id);
      // Only a multi-host job holds clients (moveToAssigned's "held"): no walk over the farm for the others.
      if (job.minHosts > 1)
        for (const client of this.clients.values()) if (client.heldFor === job.id) client.heldFor = null;
      const hash = hashFromFlat(reply[2] as string[]);
      // The devices moveToAssigned booked, in case they differ from the local guess.
      if (job.gpus > 0)
        for (const c of chosen) {
          const share = c.jobs.get(job.id);
          if (share) share.gpus = bookedGpus(hash.clients ?? null, c.id);
        }
      this.hooks.deliver(hash);
      return;
    }
    for (const client of chosen) client.jobs.delete(job.id);
    // A refusal says why in its parts (the job's waitingFor as it was last): worded and stored where it
    // changed, only while the job is still runnable (setWaiting).
    const why = refusalText(reply);
    if (why !== null && why !== reply[reply.length - 1])
      this.hooks.scripts.run("setWaiting", job.id, why, 0).catch(() => {});
    if (kind === "held") {
      for (const client of chosen) client.heldFor = job.id;
      return;
    }
    if (kind === "resources" || kind === "capped") {
      this.resourceBlocked.add(job.cls);
      // A capped class may have taken clients this pass that other classes can use: look again without it.
      if (kind === "capped") this.again = true;
      return;
    }
    // "busy": our picture of a client was wrong (another coordinator, a flag change): re-read and retry;
    // "gone": someone else took the job or it left the queue.
    if (kind === "busy") await Promise.all(chosen.map((c) => this.refreshClient(c.id)));
    this.again = true;
  }
}

function someCanRun(clients: Iterable<FarmClient>, template: JobInfo): boolean {
  for (const c of clients) if (c.canRun(template)) return true;
  return false;
}
