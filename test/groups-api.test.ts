// The client-groups API driven by Python's xmlrpc.client against a real coordinator and redis-server.

import assert from "node:assert/strict";
import { test } from "node:test";
import { useCoordinator } from "./support/coordinator-fixture.js";

const farm = useCoordinator({}, async ({ redis, keys }) => {
  for (const id of [1, 2, 3]) {
    await redis.hset(keys.client(id), { id: String(id), hostname: `node${id}`, name: "" });
    await redis.zadd(keys.clients, id, String(id));
  }
});
const { py } = farm;

interface Group {
  id: number;
  name: string;
  clients: number[];
}

test("create, fill, read and delete groups; the client hash mirrors its group ids", async () => {
  const r = await py<{ gpu: number; sim: number; all: Group[]; one: Group; byName: Group; names: Group[] }>(`
gpu = hq.createClientGroup("gpu")
sim = hq_strict.createClientGroup("sim")
for c in (1, 2):
    assert hq.addClientToGroup(gpu, c) is None
hq_strict.addClientToGroup(sim, 2)
hq.addClientToGroup(gpu, 2)  # twice is fine
out({"gpu": gpu, "sim": sim, "all": hq.getClientGroups(), "one": hq_strict.getClientGroup(gpu),
     "byName": hq.getClientGroupByName("sim"), "names": hq.getClientGroups([sim, gpu], ["name"])})
`);
  assert.deepEqual(r.all, [
    { id: r.gpu, name: "gpu", clients: [1, 2] },
    { id: r.sim, name: "sim", clients: [2] },
  ]);
  assert.deepEqual(r.one, { id: r.gpu, name: "gpu", clients: [1, 2] });
  assert.deepEqual(r.byName, { id: r.sim, name: "sim", clients: [2] });
  assert.deepEqual(r.names, [{ name: "sim" }, { name: "gpu" }]);
  assert.equal(
    await farm.redis.hget(farm.keys.client(2), "groups"),
    JSON.stringify([r.gpu, r.sim].sort((a, b) => a - b)),
  );

  const after = await py<{ removed: Group; groups: Group[] }>(`
hq.removeClientFromGroup(${r.gpu}, 1)
removed = hq.getClientGroup(${r.gpu})
hq.deleteClientGroup(${r.sim})
out({"removed": removed, "groups": hq.getClientGroups()})
`);
  assert.deepEqual(after.removed.clients, [2]);
  assert.deepEqual(
    after.groups.map((g) => g.name),
    ["gpu"],
  );
  assert.equal(await farm.redis.hget(farm.keys.client(2), "groups"), JSON.stringify([r.gpu]));
  assert.equal(await farm.redis.hget(farm.keys.client(1), "groups"), "[]");
  assert.equal(await farm.redis.hexists(farm.keys.groupsByName, "sim"), 0);
});

test("a client that left the farm drops out of its groups' member lists", async () => {
  const gid = await py<number>(`g = hq.createClientGroup("leavers"); hq.addClientToGroup(g, 3); out(g)`);
  await farm.redis.zrem(farm.keys.clients, "3");
  const group = await py<Group>(`out(hq.getClientGroup(${gid}))`);
  assert.deepEqual(group.clients, []);
  await farm.redis.zadd(farm.keys.clients, 3, "3");
});

test("bad input is a Fault naming the argument and changes nothing", async () => {
  const gid = await py<number>(`out(hq.createClientGroup("render"))`);
  const snapshot = async () => ({
    ids: await farm.redis.get(farm.keys.ids("group")),
    names: await farm.redis.hgetall(farm.keys.groupsByName),
    members: await farm.redis.smembers(farm.keys.groupClients(gid)),
    mirror: await farm.redis.hget(farm.keys.client(1), "groups"),
  });
  const before = await snapshot();
  const r = await py<Record<string, { faultCode: number; faultString: string } | null>>(`
out({
  "duplicate": fault(hq.createClientGroup, "render"),
  "emptyName": fault(hq.createClientGroup, "  "),
  "noName": fault(hq.createClientGroup, None),
  "unknownClient": fault(hq.addClientToGroup, ${gid}, 999),
  "unknownGroup": fault(hq.addClientToGroup, 999, 1),
  "badGroupId": fault(hq.addClientToGroup, "x", 1),
  "removeUnknownClient": fault(hq.removeClientFromGroup, ${gid}, 999),
  "deleteUnknown": fault(hq.deleteClientGroup, 999),
  "getUnknown": fault(hq.getClientGroup, 999),
  "listUnknown": fault(hq.getClientGroups, [${gid}, 999]),
  "byNameUnknown": fault(hq.getClientGroupByName, "nope"),
  "attribs": fault(hq.getClientGroups, None, ["id", "colour"]),
})
`);
  assert.match(r["duplicate"]!.faultString, /^name: .*already exists/);
  assert.match(r["emptyName"]!.faultString, /^name:/);
  assert.match(r["noName"]!.faultString, /^name:/);
  assert.match(r["unknownClient"]!.faultString, /^client_id: no client 999/);
  assert.match(r["unknownGroup"]!.faultString, /^group_id: no client group 999/);
  assert.match(r["badGroupId"]!.faultString, /^group_id:/);
  assert.match(r["removeUnknownClient"]!.faultString, /^client_id:/);
  assert.match(r["deleteUnknown"]!.faultString, /^group_id:/);
  assert.match(r["getUnknown"]!.faultString, /^group_id:/);
  assert.match(r["listUnknown"]!.faultString, /^group_ids\[1\]/);
  assert.match(r["byNameUnknown"]!.faultString, /^name:/);
  assert.match(r["attribs"]!.faultString, /^attribs\[1\]/);
  assert.deepEqual(await snapshot(), before);
});
