// The note store: threads of notes about a job, a client or nothing, kept in Redis. Reads are pipelined;
// each change is one Lua script (lua/addNote, removeNote, removeThread), so a bad call changes nothing.
//
// Keys (store/keys.ts):
//   {p}thread:{id}           HASH  jobId or clientId for the thread of a job or a client; a free-standing
//                                  thread has neither and carries `created` (ms) instead, so its hash exists
//   {p}thread:{id}:notes     ZSET  note ids (score = note id)
//   {p}note:{id}             HASH  {text, date (ms), threadId}
//   {p}threads               ZSET  all thread ids
//   {p}threads:byJob / byClient  HASH  job id / client id -> thread id
//
// Mirror for the jobs and clients APIs: the job hash {p}job:{id} and the client hash {p}client:{id} carry
// `threadId` (the id of their thread) and `latestNote` (the text of its newest note). The scripts rewrite
// both whenever a thread gains or loses notes and delete them when the thread goes away, so
// `getJob(...)["latestNote"]` is one HGET: absent `latestNote` = "", absent `threadId` = None.
//
// A thread belongs to at most one job or one client. Its first note stands for the thread: it can only be
// removed once it is the last note left, and removing a thread's last note removes the thread.

import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";
import { runScript, type ScriptArg } from "./lua-scripts.js";

/** Who a thread is about. A client that is gone leaves clientId set and hostname/label null. */
export interface ThreadOwner {
  jobId: number | null;
  clientId: number | null;
  clientHostname: string | null;
  clientLabel: string | null;
}

export interface StoredNote {
  id: number;
  text: string;
  /** ms since epoch */
  date: number;
}

/** Where addNote puts a note: the thread of a client or a job, a given thread, or a new thread. */
export type NoteTarget = { mode: "client" | "job" | "thread"; id: number } | { mode: "new" };

/** HSCAN page size of the orphan sweep: each call holds Redis for well under a millisecond. */
const SWEEP_PAGE = 500;

export class NoteStore {
  constructor(private readonly ctx: { redis: Redis; keys: Keys }) {}

  private run(name: string, args: ScriptArg[]): Promise<unknown> {
    return runScript(this.ctx.redis, this.ctx.keys.prefix, name, args);
  }

  /** Adds a note (creating the thread on its first note); NotFound for an unknown client or job. */
  async addNote(text: string, target: NoteTarget): Promise<number> {
    const id = target.mode === "new" ? 0 : target.id;
    return Number(await this.run("addNote", [text, target.mode, id]));
  }

  /** Every thread id, ascending. */
  async threadIds(): Promise<number[]> {
    return (await this.ctx.redis.zrange(this.ctx.keys.threads, 0, "-1")).map(Number);
  }

  async threadExists(threadId: number): Promise<boolean> {
    return (await this.ctx.redis.exists(this.ctx.keys.thread(threadId))) === 1;
  }

  /** The owner of each thread, null for a thread that does not exist. Two pipelined round trips. */
  async owners(threadIds: number[]): Promise<(ThreadOwner | null)[]> {
    const { redis, keys } = this.ctx;
    if (threadIds.length === 0) return [];
    const rows =
      (await redis
        .pipeline(threadIds.map((t) => ["hmget", keys.thread(t), "jobId", "clientId", "created"]))
        .exec()) ?? [];
    const clientIds = new Set<string>();
    const raw = rows.map(([err, value]) => {
      const fields = value as (string | null)[];
      if (err || fields.every((f) => f === null)) return null;
      if (fields[1] !== null && fields[1] !== undefined) clientIds.add(fields[1]);
      return fields;
    });
    const clientRows = await redis
      .pipeline([...clientIds].map((c) => ["hmget", keys.client(c), "hostname", "name"]))
      .exec();
    const clients = new Map<string, (string | null)[]>();
    [...clientIds].forEach((c, i) => clients.set(c, (clientRows?.[i]?.[1] as (string | null)[]) ?? []));
    return raw.map((fields) => {
      if (fields === null) return null;
      const [jobId, clientId] = fields;
      const [hostname, name] = clientId ? (clients.get(clientId) ?? []) : [];
      return {
        jobId: jobId ? Number(jobId) : null,
        clientId: clientId ? Number(clientId) : null,
        clientHostname: hostname ?? null,
        clientLabel: hostname ? (name ? `${hostname}:${name}` : hostname) : null,
      };
    });
  }

  /**
   * The notes of each thread, oldest first; `range` picks them ([0, -1] = all, [-1, -1] = the newest).
   * Two pipelined round trips whatever the number of threads.
   */
  async notes(threadIds: number[], range: [number, number]): Promise<StoredNote[][]> {
    const { redis, keys } = this.ctx;
    if (threadIds.length === 0) return [];
    const idRows =
      (await redis
        .pipeline(threadIds.map((t) => ["zrange", keys.threadNotes(t), range[0], range[1]]))
        .exec()) ?? [];
    const perThread = threadIds.map((_, i) => (idRows[i]?.[1] as string[] | undefined) ?? []);
    const all = perThread.flat();
    const rows =
      all.length === 0
        ? []
        : ((await redis.pipeline(all.map((n) => ["hmget", keys.note(n), "text", "date"])).exec()) ?? []);
    let row = 0;
    return perThread.map((noteIds) =>
      noteIds.map((nid) => {
        const [text, date] = (rows[row++]?.[1] as (string | null)[] | undefined) ?? [];
        return { id: Number(nid), text: text ?? "", date: Number(date ?? 0) };
      }),
    );
  }

  /** Removes one note (see the header for the first note's rule). True if it was removed. */
  async removeNote(noteId: number): Promise<boolean> {
    return Number(await this.run("removeNote", [noteId])) === 1;
  }

  /** Removes a thread and its notes and clears its owner's mirror. True if there was one. */
  async removeThread(threadId: number): Promise<boolean> {
    return Number(await this.run("removeThread", [threadId])) === 1;
  }

  /**
   * Removes the threads of jobs and clients that no longer exist (deleted, expired, or gone from the farm),
   * so getNoteThreads does not list notes about nothing. Returns how many went.
   */
  async sweepOrphanThreads(): Promise<number> {
    const { redis, keys } = this.ctx;
    let removed = 0;
    for (const [index, ownerKey] of [
      [keys.threadsByJob, (id: string) => keys.job(id)],
      [keys.threadsByClient, (id: string) => keys.client(id)],
    ] as const) {
      let cursor = "0";
      do {
        const [next, flat] = await redis.hscan(index, cursor, "COUNT", SWEEP_PAGE);
        cursor = next;
        const pairs: [string, string][] = [];
        for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([flat[i] as string, flat[i + 1] as string]);
        const exists =
          (await redis.pipeline(pairs.map(([owner]) => ["exists", ownerKey(owner)])).exec()) ?? [];
        for (const [i, [, tid]] of pairs.entries()) {
          if (exists[i]?.[1] === 0 && (await this.removeThread(Number(tid)))) removed += 1;
        }
      } while (cursor !== "0");
    }
    return removed;
  }
}

/** The expiry timer's orphan sweep (NoteStore.sweepOrphanThreads). */
export function sweepOrphanThreads(ctx: { redis: Redis; keys: Keys }): Promise<number> {
  return new NoteStore(ctx).sweepOrphanThreads();
}
