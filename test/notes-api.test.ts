// The notes API driven by Python's xmlrpc.client against a real coordinator and redis-server.

import assert from "node:assert/strict";
import { test } from "node:test";
import { sweepOrphanThreads } from "../coordinator/store/notes.js";
import { useCoordinator } from "./support/coordinator-fixture.js";

// A job and a client as the jobs and scheduler parts would register them.
const farm = useCoordinator({}, async ({ redis, keys }) => {
  await redis.hset(keys.job(7), { id: "7", name: "render", status: "runnable" });
  await redis.hset(keys.client(3), { id: "3", hostname: "node1", name: "gpu" });
  await redis.zadd(keys.clients, 3, "3");
});
const { py } = farm;

interface Note {
  id: number;
  text: string;
  jobId: number | null;
  clientId: number | null;
  clientHostname: string | null;
  clientLabel: string | null;
  threadId: number;
  date: { dateTime: string };
}
interface Thread {
  id: number;
  jobId: number | null;
  clientId: number | null;
  clientLabel: string | null;
  notes: Note[];
}

test("addNote on a job creates its thread, mirrors threadId/latestNote into the job hash", async () => {
  const [a, b, ids, threads] = await py<[boolean, boolean, number[], Thread[]]>(`
a = hq.addNote("first look", None, 7, None)
b = hq.addNote("second look", None, "7", None)
ids = hq_strict.getNoteThreadIds()
out([a, b, ids, hq_strict.getNoteThreads(ids)])
`);
  assert.equal(a, true);
  assert.equal(b, true);
  assert.equal(ids.length, 1);
  const thread = threads[0]!;
  assert.equal(thread.jobId, 7);
  assert.equal(thread.clientId, null);
  assert.deepEqual(
    thread.notes.map((n) => n.text),
    ["first look", "second look"],
  );
  assert.match(thread.notes[0]!.date.dateTime, /^\d{8}T\d\d:\d\d:\d\d$/);
  assert.deepEqual(await farm.redis.hmget(farm.keys.job(7), "threadId", "latestNote"), [
    String(thread.id),
    "second look",
  ]);
});

test("empty or whitespace notes are not added but True is returned", async () => {
  const [r1, r2, before, after] = await py<[boolean, boolean, number, number]>(`
n = len(hq.getNoteThreadIds())
r1 = hq.addNote("", None, None, None)
r2 = hq.addNote("  \\n\\t ", None, 7, None)
out([r1, r2, n, len(hq.getNoteThreadIds())])
`);
  assert.equal(r1, true);
  assert.equal(r2, true);
  assert.equal(before, after);
});

test("client notes: thread per client with hostname and label; threadExists; getLatestNotes", async () => {
  const [threadId, exists, missing, latest, subset] = await py<[number, boolean, boolean, Note[], Note[]]>(`
hq.addNote("fan noise", None, None, 3)
hq.addNote("fan replaced", None, None, 3)
t = [t for t in hq.getNoteThreads() if t["clientId"] == 3][0]
out([t["id"], hq.threadExists(t["id"]), hq.threadExists(99999), hq.getLatestNotes([t["id"]]),
     hq.getLatestNotes([t["id"]], ["text", "clientLabel"])])
`);
  assert.equal(exists, true);
  assert.equal(missing, false);
  assert.equal(latest.length, 1);
  assert.equal(latest[0]!.text, "fan replaced");
  assert.equal(latest[0]!.clientHostname, "node1");
  assert.equal(latest[0]!.clientLabel, "node1:gpu");
  assert.equal(latest[0]!.threadId, threadId);
  assert.deepEqual(subset, [{ text: "fan replaced", clientLabel: "node1:gpu" }]);
  assert.deepEqual(await farm.redis.hmget(farm.keys.client(3), "threadId", "latestNote"), [
    String(threadId),
    "fan replaced",
  ]);
});

test("a thread id that exists gets the note; an unknown one starts a new thread; none starts a new thread", async () => {
  const [sameThread, fresh, loose] = await py<[number, number, number]>(`
hq.addNote("topic", None, None, None)
t = max(hq.getNoteThreadIds())
hq.addNote("reply", t, None, None)
n = len(hq.getNoteThreads([t])[0]["notes"])
hq.addNote("orphan", 424242, None, None)
u = max(hq.getNoteThreadIds())
out([n, u - t, len(hq.getNoteThreads([u])[0]["notes"])])
`);
  assert.equal(sameThread, 2);
  assert.equal(fresh, 1);
  assert.equal(loose, 1);
});

test("removeNotes: the first note goes only when it is the last one left (put it last); thread goes with it", async () => {
  const r = await py<{ wrongOrder: number[]; rightOrder: number[]; exists: boolean; listed: boolean }>(`
hq.addNote("n1", None, 7, None)
t = [x for x in hq.getNoteThreads() if x["jobId"] == 7][0]
ids = [n["id"] for n in t["notes"]]
wrong = hq.removeNotes([ids[0], ids[1]])
rest = [n["id"] for n in hq.getNoteThreads([t["id"]])[0]["notes"]]
right = hq.removeNotes(rest[1:] + rest[:1])
out({"wrongOrder": wrong, "rightOrder": right, "exists": hq.threadExists(t["id"]),
     "listed": t["id"] in hq.getNoteThreadIds()})
`);
  assert.equal(r.wrongOrder.length, 1, "the first note cannot go while others remain");
  assert.deepEqual(r.rightOrder, []);
  assert.equal(r.exists, false);
  assert.equal(r.listed, false);
  assert.deepEqual(await farm.redis.hmget(farm.keys.job(7), "threadId", "latestNote"), [null, null]);
});

test("removeSingleNote / removeSingleThread / removeThreads answer what they did", async () => {
  const r = await py<[boolean, boolean, boolean, boolean, number[]]>(`
hq.addNote("a", None, None, None)
t1 = max(hq.getNoteThreadIds())
hq.addNote("b", t1, None, None)
notes = hq.getNoteThreads([t1])[0]["notes"]
one = hq.removeSingleNote(notes[1]["id"])
again = hq.removeSingleNote(notes[1]["id"])
th = hq.removeSingleThread(t1)
th2 = hq.removeSingleThread(t1)
hq.addNote("c", None, None, None)
t2 = max(hq.getNoteThreadIds())
out([one, again, th, th2, hq.removeThreads([t2, t1])])
`);
  assert.deepEqual(r.slice(0, 4), [true, false, true, false]);
  assert.equal(r[4].length, 1);
});

test("latestNote mirror follows removal of the newest note", async () => {
  await py(`
hq.addNote("old", None, 7, None)
hq.addNote("new", None, 7, None)
t = [x for x in hq.getNoteThreads() if x["jobId"] == 7][0]
hq.removeSingleNote(t["notes"][-1]["id"])
out(None)
`);
  assert.equal(await farm.redis.hget(farm.keys.job(7), "latestNote"), "old");
});

test("bad input is a Fault naming the argument and changes nothing", async () => {
  const before = await farm.redis.get(farm.keys.ids("note"));
  const r = await py<Record<string, { faultString: string } | null>>(`
out({
  "unknownJob": fault(hq.addNote, "x", None, 999, None),
  "unknownClient": fault(hq.addNote, "x", None, None, 999),
  "badId": fault(hq.addNote, "x", "abc", None, None),
  "badText": fault(hq.addNote, ["x"], None, None, None),
  "threads": fault(hq.getNoteThreads, [max(hq.getNoteThreadIds()), 99999]),
  "attribs": fault(hq.getLatestNotes, None, ["bogus"]),
  "noteIds": fault(hq.removeNotes, None),
})
`);
  assert.match(r["unknownJob"]!.faultString, /job_id/);
  assert.match(r["unknownClient"]!.faultString, /client_id/);
  assert.match(r["badId"]!.faultString, /thread_id/);
  assert.match(r["badText"]!.faultString, /note_text/);
  assert.match(r["threads"]!.faultString, /thread_ids\[1\]/);
  assert.match(r["attribs"]!.faultString, /attribs\[0\]/);
  assert.match(r["noteIds"]!.faultString, /note_ids/);
  assert.equal(await farm.redis.get(farm.keys.ids("note")), before);
});

test("threads of deleted jobs and departed clients are swept away with their mirrors", async () => {
  await farm.redis.hset(farm.keys.job(8), { id: "8", name: "gone soon", status: "succeeded" });
  await farm.redis.hset(farm.keys.client(4), { id: "4", hostname: "node4", name: "" });
  await farm.redis.zadd(farm.keys.clients, 4, "4");
  const [jobThread, clientThread, keep] = await py<[number, number, number]>(`
hq.addNote("about job 8", None, 8, None)
hq.addNote("about client 4", None, None, 4)
hq.addNote("about job 7", None, 7, None)
ts = {(t["jobId"], t["clientId"]): t["id"] for t in hq.getNoteThreads(None, ["id", "jobId", "clientId"])}
out([ts[(8, None)], ts[(None, 4)], ts[(7, None)]])
`);
  await farm.redis.del(farm.keys.job(8), farm.keys.client(4));
  const ctx = { redis: farm.redis, keys: farm.keys };
  // The coordinator's own expiry timer sweeps 5 s after start and may take some of the two first.
  const swept = await sweepOrphanThreads(ctx);
  assert.ok(swept >= 0 && swept <= 2, `swept ${swept}`);
  assert.equal(await sweepOrphanThreads(ctx), 0);
  const left = await py<number[]>(`out(hq.getNoteThreadIds())`);
  assert.ok(!left.includes(jobThread) && !left.includes(clientThread));
  assert.ok(left.includes(keep));
  assert.equal(await farm.redis.hexists(farm.keys.threadsByJob, "8"), 0);
  assert.equal(await farm.redis.exists(farm.keys.job(8)), 0, "the sweep does not recreate the job hash");
});
