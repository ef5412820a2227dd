// Notes: addNote, getLatestNotes, getNoteThreads, getNoteThreadIds, removeNotes, removeSingleNote,
// removeSingleThread, removeThreads, threadExists.
//
// MIRROR FOR THE JOBS AND CLIENTS APIs: the job hash {p}job:{id} and the client hash {p}client:{id} carry the
// fields `threadId` (the id of their note thread) and `latestNote` (the text of that thread's newest note).
// Both are written here whenever a thread gains or loses notes and deleted when the thread goes away, so
// `getJob(...)["latestNote"]` is one HGET: absent `latestNote` = "", absent `threadId` = None.
//
// Keys (coordinator/store/keys.ts): {p}thread:{id} HASH {jobId?, clientId?}, {p}thread:{id}:notes ZSET
// (score = note id), {p}note:{id} HASH {text, date (ms), threadId}, {p}threads ZSET, {p}threads:byJob /
// {p}threads:byClient HASH owner id -> thread id.
//
// A thread belongs to at most one job or one client. Its first note stands for the thread: it can only be
// removed once it is the last note left, and removing a thread's last note removes the thread. That is the
// reason behind the reference's advice to put the first note of a thread last in removeNotes(). (decision)
// Each change is one Lua script: coordinator/store/lua/{addNote,removeNote,removeThread}.lua.

import {
  Fault,
  FaultCode,
  type Methods,
  type XmlRpcStruct,
  type XmlRpcValue,
} from "../../shared/xmlrpc/types.js";
import type { Context } from "../context.js";
import { runScript } from "../store/scripts.js";
import { attribList, badArgument, id, idList, isGiven, optionalIdList, str } from "./args.js";

const NOTE_ATTRIBUTES = [
  "clientHostname",
  "clientId",
  "clientLabel",
  "date",
  "id",
  "jobId",
  "text",
  "threadId",
];
const THREAD_ATTRIBUTES = ["clientHostname", "clientId", "clientLabel", "id", "jobId", "notes"];
const MAX_NOTE_CHARS = 64 * 1024;

interface ThreadOwner {
  jobId: number | null;
  clientId: number | null;
  clientHostname: string | null;
  clientLabel: string | null;
}

/** Removes a thread and its notes (for the jobs API when it deletes a job). True if there was one. */
export async function removeThread(ctx: Pick<Context, "redis" | "keys">, threadId: number): Promise<boolean> {
  return Number(await runScript(ctx.redis, ctx.keys.prefix, "removeThread", [threadId])) === 1;
}

/**
 * Removes the threads of jobs and clients that no longer exist (deleted, expired, or gone from the farm), so
 * getNoteThreads does not list notes about nothing. Run by the expiry timer; returns how many went.
 */
export async function sweepOrphanThreads(ctx: Pick<Context, "redis" | "keys">): Promise<number> {
  const { redis, keys } = ctx;
  let removed = 0;
  for (const [index, ownerKey] of [
    [keys.threadsByJob, (id: string) => keys.job(id)],
    [keys.threadsByClient, (id: string) => keys.client(id)],
  ] as const) {
    let cursor = "0";
    do {
      const [next, flat] = await redis.hscan(index, cursor, "COUNT", 500);
      cursor = next;
      const pairs: [string, string][] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([flat[i] as string, flat[i + 1] as string]);
      const exists = (await redis.pipeline(pairs.map(([owner]) => ["exists", ownerKey(owner)])).exec()) ?? [];
      for (const [i, [, tid]] of pairs.entries()) {
        if (exists[i]?.[1] === 0 && (await removeThread(ctx, Number(tid)))) removed += 1;
      }
    } while (cursor !== "0");
  }
  return removed;
}

export function notesMethods(ctx: Context): Methods {
  const { redis, keys } = ctx;
  const p = keys.prefix;

  /** Owner details of each thread; throws a Fault naming `argName[i]` for an unknown thread. */
  async function owners(tids: number[], argName: string): Promise<ThreadOwner[]> {
    if (tids.length === 0) return [];
    const rows =
      (await redis
        .pipeline(tids.map((t) => ["hmget", keys.thread(t), "jobId", "clientId", "created"]))
        .exec()) ?? [];
    const clientIds = new Set<string>();
    const raw = rows.map(([err, value], i) => {
      const fields = value as (string | null)[];
      if (err || fields.every((f) => f === null)) {
        throw new Fault(FaultCode.notFound, `${argName}[${i}]: no note thread ${tids[i]}`);
      }
      if (fields[1] !== null && fields[1] !== undefined) clientIds.add(fields[1]);
      return fields;
    });
    const clientRows = await redis
      .pipeline([...clientIds].map((c) => ["hmget", keys.client(c), "hostname", "name"]))
      .exec();
    const clients = new Map<string, (string | null)[]>();
    [...clientIds].forEach((c, i) => clients.set(c, (clientRows?.[i]?.[1] as (string | null)[]) ?? []));
    return raw.map(([jobId, clientId]) => {
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
   * Note dicts, one list per thread, restricted to `wanted`; `range` picks the notes of each thread
   * ([0, -1] = all, [-1, -1] = the newest). Two pipelined round trips whatever the number of threads.
   */
  async function readNotes(
    tids: number[],
    threadOwners: ThreadOwner[],
    range: [number, number],
    wanted: string[],
  ): Promise<XmlRpcStruct[][]> {
    if (tids.length === 0) return [];
    const idRows =
      (await redis.pipeline(tids.map((t) => ["zrange", keys.threadNotes(t), range[0], range[1]])).exec()) ??
      [];
    const perThread = tids.map((_, i) => (idRows[i]?.[1] as string[] | undefined) ?? []);
    const all = perThread.flat();
    const rows =
      all.length === 0
        ? []
        : ((await redis.pipeline(all.map((n) => ["hmget", keys.note(n), "text", "date"])).exec()) ?? []);
    let row = 0;
    return perThread.map((nids, i) =>
      nids.map((nid) => {
        const [text, date] = (rows[row++]?.[1] as (string | null)[] | undefined) ?? [];
        const note: XmlRpcStruct = {
          ...threadOwners[i],
          id: Number(nid),
          threadId: tids[i],
          text: text ?? "",
          date: new Date(Number(date ?? 0)),
        };
        return pick(note, wanted);
      }),
    );
  }

  async function allThreadIds(): Promise<number[]> {
    return (await redis.zrange(keys.threads, 0, "-1")).map(Number);
  }

  return {
    addNote: async ([noteText, threadId, jobId, clientId]) => {
      const text = isGiven(noteText) ? str(noteText, "note_text") : "";
      if (text.length > MAX_NOTE_CHARS)
        throw badArgument("note_text", `longer than ${MAX_NOTE_CHARS} characters`);
      // Check every id even when the note is empty: a malformed call is a Fault either way.
      const client = isGiven(clientId) ? id(clientId, "client_id") : null;
      const job = isGiven(jobId) ? id(jobId, "job_id") : null;
      const thread = isGiven(threadId) ? id(threadId, "thread_id") : null;
      if (text.trim() === "") return true;
      const [mode, target] =
        client !== null
          ? ["client", client]
          : job !== null
            ? ["job", job]
            : thread !== null
              ? ["thread", thread]
              : ["new", 0];
      await runScript(redis, p, "addNote", [text, mode, target]);
      return true;
    },

    getNoteThreadIds: () => allThreadIds(),

    threadExists: async ([threadId]) => (await redis.exists(keys.thread(id(threadId, "thread_id")))) === 1,

    getNoteThreads: async ([threadIds, threadAttribs, noteAttribs]) => {
      const tids = optionalIdList(threadIds, "thread_ids") ?? (await allThreadIds());
      const threadWanted = checkAttribs(
        attribList(threadAttribs, "thread_attribs"),
        THREAD_ATTRIBUTES,
        "thread_attribs",
      );
      const noteWanted = checkAttribs(
        attribList(noteAttribs, "note_attribs"),
        NOTE_ATTRIBUTES,
        "note_attribs",
      );
      const threadOwners = await owners(tids, "thread_ids");
      const notes = threadWanted.includes("notes")
        ? await readNotes(tids, threadOwners, [0, -1], noteWanted)
        : [];
      return tids.map((tid, i) => {
        const thread = pick({ ...threadOwners[i], id: tid }, threadWanted);
        if (threadWanted.includes("notes")) thread["notes"] = notes[i] ?? [];
        return thread;
      });
    },

    getLatestNotes: async ([threadIds, attribs]) => {
      const tids = optionalIdList(threadIds, "thread_ids") ?? (await allThreadIds());
      const wanted = checkAttribs(attribList(attribs), NOTE_ATTRIBUTES, "attribs");
      const threadOwners = await owners(tids, "thread_ids");
      return (await readNotes(tids, threadOwners, [-1, -1], wanted)).flat();
    },

    removeSingleNote: async ([noteId]) =>
      Number(await runScript(redis, p, "removeNote", [id(noteId, "note_id")])) === 1,

    removeNotes: async ([noteIds]) => {
      const nids = idList(noteIds, "note_ids");
      const failed: number[] = [];
      for (const nid of nids) {
        if (Number(await runScript(redis, p, "removeNote", [nid])) !== 1) failed.push(nid);
      }
      return failed;
    },

    removeSingleThread: async ([threadId]) => removeThread(ctx, id(threadId, "thread_id")),

    removeThreads: async ([threadIds]) => {
      const tids = idList(threadIds, "thread_ids");
      const failed: number[] = [];
      for (const tid of tids) if (!(await removeThread(ctx, tid))) failed.push(tid);
      return failed;
    },
  };
}

function checkAttribs(attribs: string[] | undefined, known: string[], argName: string): string[] {
  if (attribs === undefined) return known;
  attribs.forEach((a, i) => {
    if (!known.includes(a)) {
      throw badArgument(
        `${argName}[${i}]`,
        `unknown attribute ${JSON.stringify(a)} (known: ${known.join(", ")})`,
      );
    }
  });
  return attribs;
}

function pick(all: Record<string, XmlRpcValue | undefined>, wanted: string[]): XmlRpcStruct {
  const out: XmlRpcStruct = {};
  for (const name of wanted) out[name] = all[name] ?? null;
  return out;
}
