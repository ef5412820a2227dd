// Resources: getResources (reference) and the addResource / setResource / removeResource extensions.

import assert from "node:assert/strict";
import { test } from "node:test";
import { useCoordinator } from "./support/coordinator-fixture.js";

const farm = useCoordinator();
const { py } = farm;

interface Resource {
  id: number;
  name: string;
  amount: number;
  perMachine: boolean;
  used: number;
}

test("define, list, change and remove resources", async () => {
  const r = await py<{
    empty: Resource[];
    all: Resource[];
    some: Resource[];
    changed: Resource[];
    after: Resource[];
  }>(`
empty = hq_strict.getResources()
h = hq.addResource("houdini", 5, True)
m = hq_strict.addResource("mantra", "10")
all_ = hq.getResources()
some = hq.getResources([m])
hq.setResource("mantra", 12)
hq.setResource(h, None, None, "hbatch")
changed = hq.getResources()
assert hq.removeResource("mantra") is True
out({"empty": empty, "all": all_, "some": some, "changed": changed, "after": hq.getResources()})
`);
  assert.deepEqual(r.empty, []);
  const [h, m] = r.all;
  assert.deepEqual(h, { id: h!.id, name: "houdini", amount: 5, perMachine: true, used: 0 });
  assert.deepEqual(m, { id: m!.id, name: "mantra", amount: 10, perMachine: false, used: 0 });
  assert.deepEqual(r.some, [m]);
  assert.deepEqual(
    r.changed.map((x) => [x.name, x.amount]),
    [
      ["hbatch", 5],
      ["mantra", 12],
    ],
  );
  assert.deepEqual(
    r.after.map((x) => x.name),
    ["hbatch"],
  );
  assert.equal(await farm.redis.hget(farm.keys.resourcesByName, "hbatch"), String(h!.id));
  assert.equal(await farm.redis.hexists(farm.keys.resourcesByName, "houdini"), 0);
});

test("usage as the scheduler records it is reported; a resource in use cannot be removed or switched", async () => {
  const ids = await py<[number, number]>(
    `out([hq.addResource("lic", 2, False), hq.addResource("node-lic", 3, True)])`,
  );
  await farm.redis.hset(farm.keys.resource(ids[0]!), "used", "2");
  await farm.redis.hset(farm.keys.resourceMachines(ids[1]!), { "1": "2", "4": "1" });
  const r = await py<{
    used: number[];
    remove: { faultString: string };
    switch: { faultString: string };
    amount: boolean;
  }>(`
out({"used": [x["used"] for x in hq.getResources([${ids[0]}, ${ids[1]}])],
     "remove": fault(hq.removeResource, ${ids[0]}),
     "switch": fault(hq.setResource, "node-lic", None, False),
     "amount": hq.setResource("lic", 1)})
`);
  assert.deepEqual(r.used, [2, 2]);
  assert.match(r.remove.faultString, /in use/);
  assert.match(r.switch.faultString, /^per_machine: .*in use/);
  assert.equal(r.amount, true);
});

test("bad input is a Fault naming the argument and changes nothing", async () => {
  await py(`hq.addResource("gpu", 4); out(None)`);
  const snapshot = async () => ({
    ids: await farm.redis.get(farm.keys.ids("resource")),
    names: await farm.redis.hgetall(farm.keys.resourcesByName),
  });
  const before = await snapshot();
  const r = await py<Record<string, { faultString: string } | null>>(`
out({
  "duplicate": fault(hq.addResource, "gpu", 1),
  "noAmount": fault(hq.addResource, "x"),
  "negative": fault(hq.addResource, "x", -1),
  "badFlag": fault(hq.addResource, "x", 1, "maybe"),
  "emptyName": fault(hq.addResource, " ", 1),
  "unknownName": fault(hq.setResource, "nope", 1),
  "unknownId": fault(hq.removeResource, 9999),
  "renameClash": fault(hq.setResource, "gpu", None, None, "lic"),
  "list": fault(hq.getResources, [9999]),
})
`);
  assert.match(r["duplicate"]!.faultString, /^name: .*already exists/);
  assert.match(r["noAmount"]!.faultString, /^amount:/);
  assert.match(r["negative"]!.faultString, /^amount:/);
  assert.match(r["badFlag"]!.faultString, /^per_machine:/);
  assert.match(r["emptyName"]!.faultString, /^name:/);
  assert.match(r["unknownName"]!.faultString, /^id_or_name:/);
  assert.match(r["unknownId"]!.faultString, /^id_or_name:/);
  assert.match(r["renameClash"]!.faultString, /^name: .*already exists/);
  assert.match(r["list"]!.faultString, /^resource_ids\[0\]/);
  assert.deepEqual(await snapshot(), before);
  const gpu = await py<{ amount: number }[]>(`out([x for x in hq.getResources() if x["name"] == "gpu"])`);
  assert.equal(gpu[0]!.amount, 4);
});
