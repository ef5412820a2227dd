// Issue 19 item 3, the live event stream (GET /events, Server-Sent Events) on a real coordinator and Redis,
// protocol peers as blades: a read-only viewer sees a job's transitions in order, only its tree when it asks
// for one, only its share's jobs when it asks for a share (each job event names its share), and client
// changes; a viewer that comes back with Last-Event-ID gets what it missed; anonymous viewers are refused while the farm does not allow anonymous reads;
// streams are capped per user; a viewer that stops reading is dropped and the coordinator's memory stays
// bounded while notices flood in.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { HQServer, type ServerEvent } from "../shared/client/index.js";
import { MAX_BUFFERED_BYTES, VIEWERS_PER_USER } from "../coordinator/web/event-stream.js";
import { useCoordinator, usePeers } from "./support/coordinator-fixture.js";
import { authEnv, basicAuth, urlAs } from "./support/logins.js";

const farm = useCoordinator({
  env: { ...authEnv("other:readonly:other-pw"), OPENHQ_HEARTBEAT_INTERVAL: "200" },
});
const peer = usePeers(() => ({ serverUrl: farm.url, mode: "hold" }));
const as = (username: string, password: string) => urlAs(farm.url, { username, password });
const basic = (username: string, password: string) => basicAuth({ username, password });

/** Collects a stream's events until `done` says so (or the deadline passes), then closes it. */
async function collect(
  stream: AsyncGenerator<ServerEvent>,
  abort: AbortController,
  done: (seen: ServerEvent[]) => boolean,
  ms = 30_000,
): Promise<ServerEvent[]> {
  const seen: ServerEvent[] = [];
  const timer = setTimeout(() => abort.abort(), ms);
  for await (const event of stream) {
    seen.push(event);
    if (done(seen)) break;
  }
  clearTimeout(timer);
  abort.abort();
  return seen;
}

test("a read-only viewer sees its job tree's transitions in order, and client changes", async () => {
  const blade = await peer({ hostname: "sse-blade" });
  const boss = new HQServer(as("boss", "boss-pw"));
  const viewer = new HQServer(as("viewer", "view-pw"));
  // The blade takes nothing until the streams are open.
  await boss.call("setdisabled", "sse-blade", true);
  const [parent] = await boss.newjob({ name: "tree", command: "true" });
  const treeAbort = new AbortController();
  const clientAbort = new AbortController();
  const opened: Promise<void>[] = [];
  const follow = (
    stream: AsyncGenerator<ServerEvent>,
    abort: AbortController,
    done: (s: ServerEvent[]) => boolean,
  ) => {
    let open!: () => void;
    opened.push(new Promise<void>((r) => (open = r)));
    return collect(stream, abort, (seen) => {
      if (seen.length === 1) open();
      return done(seen);
    });
  };
  const treeSeen = follow(
    viewer.events({ job: parent as number, signal: treeAbort.signal }),
    treeAbort,
    (s) => s.some((e) => e.kind === "job" && e.jobId === parent && e.status === "succeeded"),
  );
  const clientSeen = follow(
    viewer.events({ types: ["client"], signal: clientAbort.signal }),
    clientAbort,
    (s) => s.some((e) => e.kind === "client" && e.change === "enabled"),
  );
  await Promise.all(opened);

  // Another job's notices never reach a viewer of this tree.
  const [other] = await boss.newjob({ name: "other", command: "true" });
  await boss.call("setdisabled", "sse-blade", false);
  await blade.waitFor(() => blade.running.has(parent as number));
  blade.finish(parent as number);

  const events = (await treeSeen).filter((e) => e.kind !== "open");
  assert.ok(
    events.every((e) => e.kind === "job" && e.root === parent),
    JSON.stringify(events),
  );
  assert.ok(!events.some((e) => e.kind === "job" && e.jobId === other));
  const statuses = events.map((e) => (e.kind === "job" ? e.status : ""));
  assert.deepEqual(statuses, ["running", "succeeded"]);
  assert.ok(
    events.every((e) => e.kind === "job" && e.user === ""),
    "submittedBy of a job without one",
  );
  const changes = (await clientSeen)
    .filter((e) => e.kind === "client")
    .map((e) => (e.kind === "client" ? e.clientId + e.change : ""));
  assert.deepEqual(changes, [`${blade.clientId}enabled`]);
});

test("a viewer of one share sees only that share's jobs; every job event names its share", async () => {
  const blade = await peer({ hostname: "sse-share-blade" });
  const boss = new HQServer(as("boss", "boss-pw"));
  const viewer = new HQServer(as("viewer", "view-pw"));
  await boss.call("setShare", "lighting", { weight: 2 });
  await boss.call("setdisabled", "sse-share-blade", true);
  const host = "sse-share-blade";
  const [plain] = await boss.call<number[]>("newjob", { name: "plain", command: "true", host });
  const [lit] = await boss.call<number[]>("newjob", {
    name: "lit",
    command: "true",
    share: "lighting",
    host,
  });
  const ended = (seen: ServerEvent[], id: number | undefined) =>
    seen.some((e) => e.kind === "job" && e.jobId === id && e.status === "succeeded");
  const shareAbort = new AbortController();
  const allAbort = new AbortController();
  const opened: Promise<void>[] = [];
  const follow = (
    abort: AbortController,
    filters: { share?: string },
    done: (s: ServerEvent[]) => boolean,
  ) => {
    let open!: () => void;
    opened.push(new Promise<void>((r) => (open = r)));
    return collect(viewer.events({ ...filters, types: ["job"], signal: abort.signal }), abort, (seen) => {
      if (seen.length === 1) open();
      return done(seen);
    });
  };
  // The share's viewer runs until the other one has seen both jobs end (then a moment more).
  const shareSeen = follow(shareAbort, { share: "lighting" }, () => false);
  const allSeen = follow(allAbort, {}, (seen) => ended(seen, plain) && ended(seen, lit));
  await Promise.all(opened);
  await boss.call("setdisabled", "sse-share-blade", false);
  // One slot: the jobs run one after the other, in the order the shares give.
  for (let i = 0; i < 2; i++) {
    await blade.waitFor(() => blade.running.size > 0);
    for (const id of [...blade.running.keys()]) blade.finish(id);
  }
  const all = (await allSeen).filter((e) => e.kind === "job");
  await new Promise((r) => setTimeout(r, 500));
  shareAbort.abort();
  const of = (events: ServerEvent[], id: number | undefined) =>
    events.flatMap((e) => (e.kind === "job" && e.jobId === id ? [[e.status, e.share]] : []));
  assert.deepEqual(of(all, plain), [
    ["running", "default"],
    ["succeeded", "default"],
  ]);
  assert.deepEqual(of(all, lit), [
    ["running", "lighting"],
    ["succeeded", "lighting"],
  ]);
  const mine = (await shareSeen).filter((e) => e.kind === "job");
  assert.deepEqual(of(mine, plain), []);
  assert.deepEqual(of(mine, lit), [
    ["running", "lighting"],
    ["succeeded", "lighting"],
  ]);
});

test("a viewer that comes back with Last-Event-ID first gets what it missed; an unknown id gets a gap", async () => {
  const blade = await peer({ hostname: "sse-resume-blade" });
  const boss = new HQServer(as("boss", "boss-pw"));
  const viewer = new HQServer(as("viewer", "view-pw"));
  await boss.call("setdisabled", "sse-resume-blade", true);
  const [job] = await boss.call<number[]>("newjob", {
    name: "resumed",
    command: "true",
    host: "sse-resume-blade",
  });
  const firstAbort = new AbortController();
  let opened!: () => void;
  const isOpen = new Promise<void>((r) => (opened = r));
  const first = collect(viewer.events({ job, signal: firstAbort.signal }), firstAbort, (seen) => {
    if (seen.length === 1) opened();
    return seen.some((e) => e.kind === "job" && e.status === "running");
  });
  await isOpen;
  await boss.call("setdisabled", "sse-resume-blade", false);
  const running = (await first).find((e) => e.kind === "job" && e.status === "running");
  assert.match(running?.id ?? "", /^[0-9a-f]{8}-\d+$/);
  // Away: the job ends meanwhile.
  await blade.waitFor(() => blade.running.has(job as number));
  blade.finish(job as number);
  for (
    let i = 0;
    (await boss.call<{ status: string }>("getJob", job, ["status"])).status !== "succeeded";
    i++
  ) {
    assert.ok(i < 200, "the job succeeds");
    await new Promise((r) => setTimeout(r, 50));
  }
  const backAbort = new AbortController();
  const back = await collect(
    viewer.events({ job, lastEventId: running?.id as string, signal: backAbort.signal }),
    backAbort,
    (seen) => seen.some((e) => e.kind === "open"),
  );
  assert.deepEqual(
    back.map((e) => (e.kind === "job" ? `${e.jobId} ${e.status}` : e.kind)),
    [`${job} succeeded`, "open"],
  );
  const strayAbort = new AbortController();
  const stray = await collect(
    viewer.events({ job, lastEventId: "00000000-1", signal: strayAbort.signal }),
    strayAbort,
    (seen) => seen.some((e) => e.kind === "open"),
  );
  assert.deepEqual(
    stray.map((e) => e.kind),
    ["gap", "open"],
  );
});

test("access control: anonymous refused, bad filters refused, streams capped per user", async () => {
  const anonymous = await fetch(`${farm.url}/events`);
  assert.equal(anonymous.status, 401);
  await anonymous.body?.cancel();
  const bad = await fetch(`${farm.url}/events?types=job,secrets`, {
    headers: { authorization: basic("viewer", "view-pw") },
  });
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /unknown kind/);

  const open: AbortController[] = [];
  for (let i = 0; i < VIEWERS_PER_USER; i++) {
    const abort = new AbortController();
    const res = await fetch(`${farm.url}/events`, {
      headers: { authorization: basic("other", "other-pw") },
      signal: abort.signal,
    });
    assert.equal(res.status, 200);
    open.push(abort);
  }
  const over = await fetch(`${farm.url}/events`, { headers: { authorization: basic("other", "other-pw") } });
  assert.equal(over.status, 429);
  await over.body?.cancel();
  // Another user is not held back by them.
  const abort = new AbortController();
  const mine = await fetch(`${farm.url}/events`, {
    headers: { authorization: basic("viewer", "view-pw") },
    signal: abort.signal,
  });
  assert.equal(mine.status, 200);
  for (const a of [...open, abort]) a.abort();
});

function rssKb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
}

/** A viewer on a raw socket that reads the answer's headers and then nothing; `closed` once it was cut. */
async function stalledViewer(): Promise<{ closed: () => boolean; drain: () => void }> {
  const socket = connect(farm.coordinator.port, "127.0.0.1");
  socket.on("error", () => {});
  socket.write(
    `GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${basic("viewer", "view-pw")}\r\n\r\n`,
  );
  await new Promise((r) => socket.once("data", r));
  socket.pause(); // never reads again
  let closed = false;
  socket.once("close", () => (closed = true));
  return {
    closed: () => closed,
    drain: () => {
      socket.on("data", () => {});
      socket.resume();
    },
  };
}

/** 80,000 notices on the coordinator's own channel: 4.5 MB of frames (the kernel takes about 3 MB of a
 * socket nobody reads). */
async function flood(): Promise<void> {
  const notice = JSON.stringify({ type: "client", clientId: 999_999, change: "enabled" });
  for (let batch = 0; batch < 4; batch++) {
    const pipeline = farm.redis.pipeline();
    for (let i = 0; i < 20_000; i++) pipeline.publish(farm.keys.eventsChannel, notice);
    await pipeline.exec();
  }
}

async function dropped(viewer: { closed: () => boolean; drain: () => void }): Promise<boolean> {
  // Reading again, the viewer finds its stream cut after what the kernel had buffered.
  viewer.drain();
  const deadline = Date.now() + 20_000;
  while (!viewer.closed() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return viewer.closed();
}

test("a viewer that stops reading is dropped, and the coordinator's memory stays bounded", async () => {
  const pid = farm.coordinator.process.pid as number;
  const first = await stalledViewer();
  await flood(); // also grows the coordinator's heap to what handling a flood takes
  assert.ok(await dropped(first), "the stalled viewer was not dropped");
  // A second flood with a second stalled viewer: held for it, the frames (one write each) would cost tens of MB.
  const before = rssKb(pid);
  const second = await stalledViewer();
  await flood();
  const grown = rssKb(pid) - before;
  assert.ok(await dropped(second), "the second stalled viewer was not dropped");
  assert.ok(
    grown < 12 * 1024,
    `coordinator grew ${Math.round(grown / 1024)} MB with a stalled viewer (bound ${MAX_BUFFERED_BYTES} B)`,
  );
  // A new viewer is served as usual.
  const abort = new AbortController();
  const res = await fetch(`${farm.url}/events`, {
    headers: { authorization: basic("viewer", "view-pw") },
    signal: abort.signal,
  });
  assert.equal(res.status, 200);
  abort.abort();
});
