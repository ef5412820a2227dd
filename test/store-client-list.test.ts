// The Clients page's list (store/client-list.ts) on a real Redis: labels and group sets give the default
// view, scanClients.lua the state and the sortable columns; the state it filters on is the one the clients
// API computes (store/client-view.ts), blade for blade.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { parseNewJob } from "../coordinator/api/jobspec.js";
import { CLIENT_STATES, CLIENT_STATE_ATTRIBUTES, clientState } from "../shared/client-state.js";
import { listClients, type ClientListQuery } from "../coordinator/store/client-list.js";
import { describeClients } from "../coordinator/store/client-view.js";
import { setDisabled } from "../coordinator/store/clients.js";
import { GroupStore } from "../coordinator/store/groups.js";
import type { Context } from "../coordinator/context.js";
import { registerBlade, testContext } from "./support/context.js";
import { startJobsHarness, type JobsHarness } from "./jobs-support.js";

let h: JobsHarness;
let ctx: Context;
const id = new Map<string, number>();
let lighting = 0;
before(async () => {
  h = await startJobsHarness();
  ctx = await testContext(h.redis, h.keys, {}, h.logs);
  const now = Date.now();
  // name -> [load, cpus, seconds since the last heartbeat, available]
  const blades: [string, number, number, number, boolean][] = [
    ["b-alpha", 3, 8, 0, true],
    ["B-bravo", 1, 16, 0, true],
    ["b-charlie", 2, 4, 0, true],
    ["b-delta", 5, 8, 60, true],
    ["x-echo", 0.5, 32, 0, false],
  ];
  for (const [hostname, load, cpus, age, available] of blades) {
    const cid = await registerBlade(ctx, { hostname, cpus, load, at: now - age * 1000, available });
    id.set(hostname, cid);
  }
  await setDisabled(ctx, id.get("B-bravo") as number, true);
  const [job] = await h.store.addJobs(parseNewJob({ name: "frame", command: "true" }, null, null));
  await h.assign(job as number, id.get("b-charlie"));
  const groups = new GroupStore(ctx);
  lighting = await groups.create("lighting");
  for (const name of ["b-alpha", "b-charlie"])
    await groups.setMembership(lighting, id.get(name) as number, true);
});
after(async () => {
  await h.stop();
});

const names = async (q: Partial<ClientListQuery>) => {
  const page = await listClients(
    h.redis,
    h.keys,
    { name: "", state: "", groupId: null, sort: "name", desc: false, offset: 0, count: 100, ...q },
    Date.now(),
    ctx.settings.heartbeatIntervalMs,
  );
  const byId = new Map([...id].map(([name, cid]) => [cid, name]));
  return { names: page.ids.map((cid) => byId.get(cid)), total: page.total, registered: page.registered };
};

test("by name from the labels alone, filtered by name and group, paged", async () => {
  assert.deepEqual(await names({}), {
    names: ["b-alpha", "B-bravo", "b-charlie", "b-delta", "x-echo"],
    total: 5,
    registered: 5,
  });
  assert.deepEqual((await names({ name: "B-", desc: true })).names, [
    "b-delta",
    "b-charlie",
    "B-bravo",
    "b-alpha",
  ]);
  assert.deepEqual(await names({ name: "b-", offset: 1, count: 2 }), {
    names: ["B-bravo", "b-charlie"],
    total: 4,
    registered: 5,
  });
  assert.deepEqual((await names({ groupId: lighting })).names, ["b-alpha", "b-charlie"]);
  assert.deepEqual((await names({ groupId: -1 })).total, 0, "a group that does not exist");
});

test("state filters and column sorts come from scanClients, in the clients API's words", async () => {
  const states: Record<string, string[]> = {};
  for (const state of CLIENT_STATES) states[state] = (await names({ state })).names as string[];
  assert.deepEqual(states, {
    busy: ["b-charlie"],
    idle: ["b-alpha"],
    unavailable: ["x-echo"],
    disabled: ["B-bravo"],
    not_responding: ["b-delta"],
    quarantined: [],
  });
  const described = await describeClients(ctx, [...id.values()], ["label", ...CLIENT_STATE_ATTRIBUTES]);
  for (const c of described)
    assert.deepEqual(states[clientState(c)], [c["label"]], `${String(c["label"])}: the API's state`);
  assert.deepEqual((await names({ sort: "load", desc: true })).names, [
    "b-delta",
    "b-alpha",
    "b-charlie",
    "B-bravo",
    "x-echo",
  ]);
  assert.deepEqual((await names({ sort: "cpus", name: "b-" })).names, [
    "b-charlie",
    "b-alpha",
    "b-delta",
    "B-bravo",
  ]);
  assert.deepEqual((await names({ sort: "jobs", desc: true, count: 1 })).names, ["b-charlie"]);
  assert.deepEqual((await names({ sort: "state", groupId: lighting })).names, ["b-charlie", "b-alpha"]);
});
