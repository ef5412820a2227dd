// The HQueue job API as Python's xmlrpc.client sees it, served by a real coordinator process: newjob in
// all its shapes and sloppy types, Faults that create nothing, getJob/getJobs attributes, the status queries
// and the job operations.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { JOB_ATTRIBUTES } from "../coordinator/store/job-view.js";
import { PRELUDE, python } from "./support/python.js";
import { startJobsHarness, type JobsHarness } from "./jobs-support.js";

let h: JobsHarness;
before(async () => {
  h = await startJobsHarness({ coordinator: true });
});
after(async () => {
  await h.stop();
});

const py = <T>(code: string) => python<T>(PRELUDE + code, { HQSERVER: h.url });

test("newjob takes a JSON string, a dict or a list, and returns roots first, then nested children", async () => {
  const r = await py<Record<string, unknown>>(`
a = hq.newjob('{"name": "json", "command": "echo"}')
b = hq.newjob({"name": "dict", "children": [{"name": "c1", "command": "x", "children": [{"name": "g", "command": "y"}]}, {"name": "c2", "command": "z"}]})
c = hq.newjob([{"name": "one", "command": "x"}, {"name": "two", "command": "y"}])
names = [hq.getJob(i, ["name"])["name"] for i in b]
out({"a": a, "b": b, "c": c, "names": names, "parents": [hq.getJob(i, ["parents"])["parents"] for i in b]})
`);
  assert.equal((r.a as number[]).length, 1);
  const b = r.b as number[];
  assert.deepEqual(r.names, ["dict", "c1", "c2", "g"]);
  assert.deepEqual(r.parents, [[], [b[0]], [b[0]], [b[1]]]);
  assert.equal((r.c as number[]).length, 2);
});

test("sloppy types are coerced; a bad spec is a Fault naming the field and creates nothing", async () => {
  const r = await py<Record<string, unknown>>(`
ids = hq.newjob({"name": "sloppy", "command": "x", "priority": "5 (Medium)", "minHosts": "2", "maxHosts": "4",
                 "tags": "single", "conditions": [], "environment": {}, "cpus": "3", "triesLeft": "1"})
j = hq.getJob(ids[0], ["priority", "minHosts", "maxHosts", "tags", "conditions", "environment", "cpus", "triesLeft", "resources"])
before = hq.getJobIdsByStatus(["queued", "runnable"])
f1 = fault(hq.newjob, [{"name": "fine", "command": "x"}, {"name": "bad", "cpus": "many"}])
f2 = fault(hq.newjob, {"command": "no name"})
f3 = fault(hq.newjob, 42)
f4 = fault(hq.newjob, "{not json")
f5 = fault(hq.newjob, {"name": "x", "children": [{"name": "y", "conditions": [{"name": "hostname", "op": "like", "value": "a"}]}]})
after = hq.getJobIdsByStatus(["queued", "runnable"])
out({"j": j, "f": [f1, f2, f3, f4, f5], "same": before == after, "empty": hq.newjob({"name": "e", "tags": "", "command": ""})})
`);
  assert.deepEqual(r.j, {
    priority: 5,
    minHosts: 2,
    maxHosts: 4,
    tags: ["single"],
    conditions: [],
    environment: {},
    cpus: 3,
    triesLeft: 1,
    resources: null,
  });
  const faults = r.f as { faultCode: number; faultString: string }[];
  assert.match(faults[0]!.faultString, /jobspec\[1\]\.cpus/);
  assert.match(faults[1]!.faultString, /jobspec\[0\]\.name/);
  assert.match(faults[2]!.faultString, /jobspec/);
  assert.match(faults[3]!.faultString, /JSON/);
  assert.match(faults[4]!.faultString, /jobspec\[0\]\.children\[0\]\.conditions\[0\]\.op/);
  for (const f of faults) assert.equal(f.faultCode, -32602);
  assert.equal(r.same, true);
});

test("parent_id (a string from JOBID), child_ids, stubs, childrenIds and parentIds link jobs", async () => {
  const r = await py<Record<string, number[] | unknown>>(`
[parent] = hq.newjob({"name": "parent", "command": "x"})
kids = hq.newjob([{"name": "k1", "command": "x"}, {"name": "k2", "command": "y"}], str(parent))
[existing] = hq.newjob({"name": "existing", "command": "x"})
[adopter] = hq.newjob({"name": "adopter", "command": "x"}, None, [existing])
stubs = hq.newjob([{"name": "top", "stubId": "t", "childStubIds": ["a", "b"]},
                   {"name": "a", "stubId": "a", "command": "x"}, {"name": "b", "stubId": "b", "command": "y"}])
[other] = hq.newjob({"name": "other", "command": "x"})
[dep] = hq.newjob({"name": "dep", "command": "x", "childrenIds": [other], "parentIds": [parent]})
g = lambda i: hq.getJob(i, ["parents", "children", "status"])
out({"parent": g(parent), "kids": kids, "adopter": g(adopter), "existing": g(existing), "stubs": stubs,
     "top": g(stubs[0]), "dep": g(dep), "other": g(other), "ids": [parent, existing, adopter, other, dep],
     "roots": hq.getUnfinishedRootJobIds(),
     "cycle": fault(hq.newjob, {"name": "loop", "stubId": "l", "childStubIds": ["l"]})})
`);
  const ids = r.ids as number[];
  const [parent, existing, adopter, other, dep] = ids as [number, number, number, number, number];
  const kids = r.kids as number[];
  assert.deepEqual(r.parent, { parents: [], children: [...kids, dep], status: "queued" });
  assert.deepEqual(r.adopter, { parents: [], children: [existing], status: "queued" });
  assert.deepEqual(r.existing, { parents: [adopter], children: [], status: "runnable" });
  const stubs = r.stubs as number[];
  assert.deepEqual(r.top, { parents: [], children: [stubs[1], stubs[2]], status: "queued" });
  assert.deepEqual(r.dep, { parents: [parent], children: [other], status: "queued" });
  assert.deepEqual(r.other, { parents: [dep], children: [], status: "runnable" });
  const roots = r.roots as number[];
  assert.ok(
    roots.includes(parent) && roots.includes(adopter) && !roots.includes(existing) && !roots.includes(other),
  );
  assert.notEqual(r.cycle, null);
});

test("getJob returns every attribute, None for missing values and dateTimes; getJobs honours attribs", async () => {
  const r = await py<Record<string, unknown>>(`
[i] = hq.newjob({"name": "all", "command": "echo hi", "shell": "bash", "environment": {"A": "1"}, "resources": {"houdini": 1}})
j = hq.getJob(i)
out({"keys": sorted(j.keys()), "j": j, "jobs": hq.getJobs([i, 99999999], ["name", "status"]),
     "missing": fault(hq.getJob, 99999999), "info": sorted(hq.getinfo(str(i)).keys()), "status": hq.getstatus(str(i)),
     "run": hq.runcmd("echo from runcmd")})
`);
  // getJob without attribs returns every attribute the job view defines, no more (Python sorts them).
  assert.deepEqual(r.keys, [...JOB_ATTRIBUTES].sort());
  const j = r.j as Record<string, unknown>;
  assert.equal(j.endTime, null);
  assert.equal(j.threadId, null);
  assert.equal(j.uiStatus, "waiting for machine");
  assert.equal(j.ETA, -1);
  assert.deepEqual(j.resources, { houdini: 1 });
  assert.ok(typeof (j.queueTime as { dateTime: string }).dateTime === "string");
  const logs = j.logs as [string, { dateTime: string }][];
  assert.equal(logs[0]![0], "setting status to runnable");
  assert.match(logs[0]![1].dateTime, /^\d{8}T\d\d:\d\d:\d\d$/);
  assert.deepEqual(r.jobs, [{ name: "all", status: "runnable" }, null]);
  assert.equal((r.missing as { faultCode: number }).faultCode, 404);
  assert.ok((r.info as string[]).includes("parents"));
  assert.equal(r.status, "runnable");
  assert.equal(typeof r.run, "number");
});

test("status queries: bare string or list, waiting, both spellings, waiting counts by priority", async () => {
  const r = await py<Record<string, unknown>>(`
ids = hq.newjob([{"name": "p1", "command": "x", "priority": 1}, {"name": "p7", "command": "x", "priority": 7}])
runnable = hq.getJobIdsByStatus("runnable")
waiting = hq.getJobIdsBySatus(["waiting"])
out({"ids": ids, "runnable": runnable, "waiting": waiting, "bad": fault(hq.getJobIdsByStatus, "sleeping"),
     "n": [hq.getNumWaitingJobs(), hq.getNumWaitingJobs(0, 6), hq.getNumWaitingJobs(0, -1, 5), hq.getNumWaitingJobs(10)],
     "names": [hq.getAllJobStatusNames(), hq.getFinishedJobStatusNames(), hq.getWaitingJobStatusNames(),
               hq.getStartedJobEventNames(), hq.getPriorityChangedEventNames()]})
`);
  const ids = r.ids as number[];
  for (const id of ids) {
    assert.ok((r.runnable as number[]).includes(id));
    assert.ok((r.waiting as number[]).includes(id));
  }
  assert.equal((r.bad as { faultCode: number }).faultCode, -32602);
  const [all, high, low, old] = r.n as number[];
  assert.ok(all! >= 2 && high! >= 1 && low! >= 1 && high! + low! === all);
  assert.equal(old, 0);
  const names = r.names as string[][];
  assert.deepEqual(names[1], ["succeeded", "failed", "cancelled", "abandoned"]);
  assert.deepEqual(names[2], ["queued", "runnable"]);
});

test("operations: bare ids, unknown ids Fault and change nothing, delete only finished jobs", async () => {
  const r = await py<Record<string, unknown>>(`
[root, child] = hq.newjob({"name": "ops", "children": [{"name": "c", "command": "x"}]})
hq.pauseJobs(root)
paused = [hq.getstatus(root), hq.getstatus(child)]
hq.resumeJobs([root])
resumed = [hq.getstatus(root), hq.getstatus(child)]
unknown = fault(hq.cancelJobs, [child, 99999999])
after_unknown = hq.getstatus(child)
delete_unfinished = fault(hq.deleteJobs, [root])
hq.setJobPriority([root], 4)
prio = hq.getJob(child, ["priority"])["priority"]
hq.cancelJobs(root)
cancelled = [hq.getstatus(root), hq.getstatus(child)]
finished = hq.getFinishedRootJobIds()
hq.rescheduleJobs([child])
rescheduled = [hq.getstatus(root), hq.getstatus(child)]
hq.cancelJobs([root])
hq.deleteJobs([root])
out({"paused": paused, "resumed": resumed, "unknown": unknown, "after_unknown": after_unknown,
     "delete_unfinished": delete_unfinished, "prio": prio, "cancelled": cancelled, "root": root,
     "finished": finished, "rescheduled": rescheduled, "gone": fault(hq.getJob, child), "ejected": hq.ejectJobs([])})
`);
  assert.deepEqual(r.paused, ["paused", "paused"]);
  assert.deepEqual(r.resumed, ["queued", "runnable"]);
  assert.equal((r.unknown as { faultCode: number }).faultCode, 404);
  assert.equal(r.after_unknown, "runnable");
  assert.equal((r.delete_unfinished as { faultCode: number }).faultCode, 409);
  assert.equal(r.prio, 4);
  assert.deepEqual(r.cancelled, ["cancelled", "cancelled"]);
  assert.ok((r.finished as number[]).includes(r.root as number));
  assert.deepEqual(r.rescheduled, ["queued", "runnable"]);
  assert.equal((r.gone as { faultCode: number }).faultCode, 404);
});

test("permitted clients, blocked-clients warning and job output", async () => {
  const [job] = await python<number[]>(
    PRELUDE + `out(hq.newjob({"name": "o", "command": "x", "host": "a b"}))`,
    {
      HQSERVER: h.url,
    },
  );
  const attempt = await h.assign(job!);
  await h.store.appendOutput(job!, attempt, 1, "héllo\nworld\n");
  const r = await py<Record<string, unknown>>(`
j = ${job}
before = hq.getPermittedClientsList(j)
hq.savePermittedClientsList(j, ["node1", "node2:gpu", "node3:"])
after = hq.getPermittedClientsList(j)
hq.setShowBlockedClientsWarning(j, True)
warn = hq.getJob(j, ["showBlockedClientsWarning", "conditions"])
out({"before": before, "after": after, "warn": warn, "out": hq.getJobOutput(j), "tail": hq.getJobOutput(str(j), 6),
     "none": hq.getJobOutput(j, 0), "missing": fault(hq.getJobOutput, 99999999)})
`);
  assert.deepEqual(r.before, ["a", "b"]);
  assert.deepEqual(r.after, ["node1", "node2:gpu", "node3:"]);
  assert.deepEqual(r.warn, {
    showBlockedClientsWarning: true,
    conditions: [{ type: "client", name: "hostname:name", op: "in", value: "node1,node2:gpu,node3:" }],
  });
  assert.equal(r.out, "héllo\nworld\n");
  assert.equal(r.tail, "world\n");
  assert.equal(r.none, "héllo\nworld\n");
  assert.equal((r.missing as { faultCode: number }).faultCode, 404);
});

test("a client without allow_none (it never sends None) gets None back in replies", async () => {
  const r = await py<Record<string, unknown>>(`
ids = hq_strict.newjob({"name": "strict", "command": "x"})
j = hq_strict.getJob(ids[0])
res = hq_strict.cancelJobs(ids)
out({"ids": ids, "endTime": j["endTime"], "res": res, "status": hq_strict.getstatus(ids[0]),
     "cancelled": ids[0] in hq_strict.getJobIdsByStatus("cancelled"),
     "names": hq_strict.getUnfinishedJobStatusNames(), "out": hq_strict.getJobOutput(ids[0])})
`);
  assert.equal((r.ids as number[]).length, 1);
  assert.equal(r.endTime, null);
  assert.equal(r.res, null);
  assert.equal(r.status, "cancelled");
  assert.equal(r.cancelled, true);
  assert.deepEqual(r.names, ["queued", "runnable", "running", "pausing", "paused", "resuming"]);
  assert.equal(r.out, "");
});

test("getNumWaitingJobs(wait_time) counts from when a job last became runnable, by arrival, not by reading jobs", async () => {
  // Jobs of priorities no other test uses. The queue's clock (util.lua markClock) is moved back by hand:
  // arrivals up to `seq` entered `minutes` ago (a real farm's clock has one entry a second).
  const clockAt = async (minutes: number) => {
    const seq = await h.redis.get(h.keys.queueSeq);
    const at = Date.now() - minutes * 60_000;
    await h.redis.zremrangebyscore(h.keys.queueClock, at - 1000, "+inf");
    await h.redis.zadd(h.keys.queueClock, at, seq!);
  };
  const count = (wait: number, min: number, max: number) => `hq.getNumWaitingJobs(${wait}, ${min}, ${max})`;
  const [a] = await py<number[]>(`out(hq.newjob({"name": "a", "command": "x", "priority": 900002}))`);
  const [c] = await py<number[]>(`out(hq.newjob({"name": "c", "command": "x", "priority": 900001}))`);
  await clockAt(20);
  await py(`out(hq.newjob({"name": "b", "command": "x", "priority": 900002}))`);
  await clockAt(5);
  const r = await py<number[]>(`out([${count(10, 900001, 900002)}, ${count(10, 900002, 900002)},
    ${count(10, 900001, 900001)}, ${count(3, 900001, 900002)}, ${count(30, 900001, 900002)},
    ${count(10, 900002, 900001)}, ${count(0, 900001, 900002)}])`);
  assert.deepEqual(r, [2, 1, 1, 3, 0, 0, 3]);
  // A priority change keeps the wait; a job out of the queue is not waiting, and back in it starts again.
  const after = await py<number[]>(`
hq.setJobPriority([${a}], 900001)
n = [${count(10, 900001, 900001)}]
hq.pauseJobs([${c}])
n.append(${count(10, 900001, 900001)})
hq.resumeJobs([${c}])
n += [${count(10, 900001, 900001)}, ${count(0, 900001, 900001)}]
out(n)`);
  assert.deepEqual(after, [2, 1, 1, 2]);
  // More priorities than one waitingSince.lua call counts (WAITING_STEPS): counted over several calls.
  await py(
    `out(hq.newjob([{"name": "p%d" % i, "command": "x", "priority": 800000 + i} for i in range(1500)]))`,
  );
  await clockAt(20);
  assert.deepEqual(
    await py<number[]>(`out([${count(10, 800000, 801499)}, ${count(10, 800100, 800199)}])`),
    [1500, 100],
  );
});
