// The one syntax of availability times (shared/availability.ts) as both sides apply it: the agent's checks of
// rules from the link or disk and its evaluation, and the coordinator's setAvailabilityRules (in-process,
// against a real redis-server). "24:00" is the end of the day, accepted as a window's end only.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { isAvailable, validRules } from "../agent/availability.js";
import { clientsMethods } from "../coordinator/api/clients.js";
import { Keys } from "../coordinator/store/keys.js";
import { clockMinutes } from "../shared/availability.js";
import type { AvailabilityRule } from "../shared/protocol.js";
import { Fault, FaultCode, type Methods, type XmlRpcValue } from "../shared/xmlrpc/types.js";
import { testContext } from "./support/context.js";
import { startRedis, type TestRedis } from "./support/redis.js";

describe("availability times", () => {
  it("are HH:MM from 00:00 to 23:59; 24:00 only as an end", () => {
    for (const [text, start, end] of [
      ["00:00", 0, 0],
      ["7:05", 425, 425],
      ["23:59", 1439, 1439],
      ["24:00", null, 1440],
      ["24:01", null, null],
      ["25:00", null, null],
      ["12:60", null, null],
      [" 07:30", null, null],
      ["0730", null, null],
      ["", null, null],
    ] as const) {
      assert.equal(clockMinutes(text, "start"), start, `start ${text}`);
      assert.equal(clockMinutes(text, "end"), end, `end ${text}`);
    }
  });

  it("the agent keeps a window ending at 24:00 and drops one starting there", () => {
    const { rules, problems } = validRules([
      { type: "window", days: [5], start: "22:00", end: "24:00" },
      { type: "window", start: "24:00", end: "06:00" },
    ]);
    assert.deepEqual(rules, [{ type: "window", days: [5], start: "22:00", end: "24:00" }]);
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? "", /start "24:00"/);
  });

  it("a window ending at 24:00 lasts to the end of its day; 00:00-24:00 is the whole day", () => {
    // 2026-11-27 is a Friday (day 5).
    const at = (day: number, hh: number, mm = 0): Date => new Date(2026, 10, 22 + day, hh, mm);
    const evening: AvailabilityRule[] = [{ type: "window", days: [5], start: "22:00", end: "24:00" }];
    assert.equal(isAvailable(evening, at(5, 21, 59), -1), false);
    assert.equal(isAvailable(evening, at(5, 22), -1), true);
    assert.equal(isAvailable(evening, at(5, 23, 59), -1), true);
    assert.equal(isAvailable(evening, at(6, 0), -1), false);
    const allDay: AvailabilityRule[] = [{ type: "window", days: [1], start: "00:00", end: "24:00" }];
    assert.equal(isAvailable(allDay, at(1, 0), -1), true);
    assert.equal(isAvailable(allDay, at(1, 23, 59), -1), true);
    assert.equal(isAvailable(allDay, at(2, 0), -1), false);
  });
});

describe("setAvailabilityRules on the coordinator", () => {
  let server: TestRedis;
  let methods: Methods;
  const keys = new Keys("t:");
  const call = async (...params: XmlRpcValue[]) =>
    (methods["setAvailabilityRules"] as Methods[string])(params, {});

  before(async () => {
    server = await startRedis();
    const redis = server.client();
    methods = clientsMethods(await testContext(redis, keys));
    await redis.hset(keys.client(1), { hostname: "node1", name: "" });
    await redis.zadd(keys.clients, 1, "1");
    await redis.hset(keys.clientsByLabel, "node1", "1");
  });
  after(async () => {
    await server.stop();
  });

  it("accepts 24:00 as an end and refuses it as a start, changing nothing", async () => {
    const evening = { type: "window", days: [5], start: "22:00", end: "24:00" };
    assert.equal(await call(1, [evening]), true);
    const stored = async () => server.client().hget(keys.client(1), "availabilityRules");
    assert.deepEqual(JSON.parse((await stored()) ?? "null"), [evening]);
    await assert.rejects(call(1, [{ type: "window", start: "24:00", end: "06:00" }]), (err: unknown) => {
      assert.ok(err instanceof Fault);
      assert.equal(err.faultCode, FaultCode.badArgument);
      assert.match(err.faultString, /^rules\[0\]\.start: expected HH:MM/);
      return true;
    });
    await assert.rejects(call(1, [{ type: "window", start: "08:00", end: "24:30" }]), /rules\[0\]\.end/);
    assert.deepEqual(JSON.parse((await stored()) ?? "null"), [evening]);
  });
});
