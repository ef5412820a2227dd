// Notes: addNote, getLatestNotes, getNoteThreads, getNoteThreadIds, removeNotes, removeSingleNote,
// removeSingleThread, removeThreads, threadExists. This module only coerces arguments and shapes replies;
// the threads, the notes and their mirror in the job and client hashes live in coordinator/store/notes.ts.
//
// A thread's first note stands for the thread: it can only be removed once it is the last note left, and
// removing a thread's last note removes the thread. That is the reason behind the reference's advice to put
// the first note of a thread last in removeNotes(). (decision)

import type { Methods, XmlRpcStruct, XmlRpcValue } from "../../shared/xmlrpc/types.js";
import type { Context } from "../context.js";
import { NoteStore, type NoteTarget, type StoredNote, type ThreadOwner } from "../store/notes.js";
import { attribList, badArgument, id, idList, isGiven, optionalIdList, str, notFound } from "./args.js";

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

export function notesMethods(ctx: Context): Methods {
  const store = new NoteStore(ctx);

  /** Owner details of each thread; throws a Fault naming `argName[i]` for an unknown thread. */
  async function owners(tids: number[], argName: string): Promise<ThreadOwner[]> {
    return (await store.owners(tids)).map((owner, i) => {
      if (owner === null) throw notFound(`${argName}[${i}]`, `no note thread ${tids[i]}`);
      return owner;
    });
  }

  /** Note dicts, one list per thread, restricted to `wanted`. */
  function noteDicts(
    tids: number[],
    threadOwners: ThreadOwner[],
    notes: StoredNote[][],
    wanted: string[],
  ): XmlRpcStruct[][] {
    return notes.map((threadNotes, i) =>
      threadNotes.map((note) =>
        pick(
          {
            ...threadOwners[i],
            id: note.id,
            threadId: tids[i],
            text: note.text,
            date: new Date(note.date),
          },
          wanted,
        ),
      ),
    );
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
      const target: NoteTarget =
        client !== null
          ? { mode: "client", id: client }
          : job !== null
            ? { mode: "job", id: job }
            : thread !== null
              ? { mode: "thread", id: thread }
              : { mode: "new" };
      await store.addNote(text, target);
      return true;
    },

    getNoteThreadIds: () => store.threadIds(),

    threadExists: async ([threadId]) => store.threadExists(id(threadId, "thread_id")),

    getNoteThreads: async ([threadIds, threadAttribs, noteAttribs]) => {
      const tids = optionalIdList(threadIds, "thread_ids") ?? (await store.threadIds());
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
        ? noteDicts(tids, threadOwners, await store.notes(tids, [0, -1]), noteWanted)
        : [];
      return tids.map((tid, i) => {
        const thread = pick({ ...threadOwners[i], id: tid }, threadWanted);
        if (threadWanted.includes("notes")) thread["notes"] = notes[i] ?? [];
        return thread;
      });
    },

    getLatestNotes: async ([threadIds, attribs]) => {
      const tids = optionalIdList(threadIds, "thread_ids") ?? (await store.threadIds());
      const wanted = checkAttribs(attribList(attribs), NOTE_ATTRIBUTES, "attribs");
      const threadOwners = await owners(tids, "thread_ids");
      return noteDicts(tids, threadOwners, await store.notes(tids, [-1, -1]), wanted).flat();
    },

    removeSingleNote: async ([noteId]) => store.removeNote(id(noteId, "note_id")),

    removeNotes: async ([noteIds]) => notRemoved(idList(noteIds, "note_ids"), (n) => store.removeNote(n)),

    removeSingleThread: async ([threadId]) => store.removeThread(id(threadId, "thread_id")),

    removeThreads: async ([threadIds]) =>
      notRemoved(idList(threadIds, "thread_ids"), (t) => store.removeThread(t)),
  };
}

/** Removes the ids one by one, in the order given (it matters for first notes); returns those that failed. */
async function notRemoved(ids: number[], remove: (id: number) => Promise<boolean>): Promise<number[]> {
  const failed: number[] = [];
  for (const one of ids) if (!(await remove(one))) failed.push(one);
  return failed;
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
