// Precise waiting reasons (issue 20 item 4): the unmet requirement that alone rules out every registered
// blade, worded; anything else keeps the generic NO_CLIENT.

import { test } from "node:test";
import assert from "node:assert/strict";
import { parseJobInfo } from "../coordinator/scheduler/job-info.js";
import { blockedReason, type RegisteredClient } from "../coordinator/scheduler/waiting.js";
import { groupWait, groupWaitText } from "../coordinator/scheduler/group-wait.js";
import type { ClientState } from "../shared/client-state.js";
import {
  isBlockedText,
  isRefusalText,
  NO_CLIENT,
  refusalText,
} from "../coordinator/scheduler/waiting-reasons.js";

let bladeIds = 0;
const blade = (cpus: number, groups: string[] = [], terminated = false): RegisteredClient => ({
  id: ++bladeIds,
  hostname: "h",
  name: "",
  os: "linux",
  groups: new Set(groups),
  terminated,
  cpus,
});
const job = (cpus: number, conditions: object[] = []) =>
  parseJobInfo(1, [String(cpus), null, JSON.stringify(conditions), "1", "1", null, null, "c", "0", "0"]);
const group = (value: string) => ({ type: "client", name: "group", op: "==", value });

test("waiting reasons name the CPUs or the group no blade offers", () => {
  const farm = [blade(16, ["lighting"]), blade(8), blade(128, [], true)];
  assert.equal(blockedReason(job(4), farm), null);
  assert.equal(blockedReason(job(64), farm), "needs 64 CPUs; largest blade has 16");
  assert.equal(blockedReason(job(1, [group("gpu_blades")]), farm), "no blade is in group gpu_blades");
  assert.equal(blockedReason(job(1, [group("lighting")]), farm), null);
  // Each requirement met by some blade, not by the same one: the generic reason.
  assert.equal(blockedReason(job(12, [group("lighting")]), [blade(16), blade(8, ["lighting"])]), NO_CLIENT);
  for (const text of ["needs 64 CPUs; largest blade has 16", "no blade is in group x", NO_CLIENT])
    assert.ok(isBlockedText(text), text);
  assert.ok(!isBlockedText("waiting for a free client"));
});

test("moveToAssigned's refusals, from the reply's parts, are worded as the sweeps recognise them", () => {
  const texts = [
    refusalText(["resources", "tokens", "busy", ""]),
    refusalText(["resources", "nope", "undefined", ""]),
    refusalText(["capped", "maxRunning", "12", 2, 2, ""]),
    refusalText(["capped", "burst", "comp", 3, 3, ""]),
    refusalText(["capped", "user", "ana", 8, 8, ""]),
  ];
  assert.deepEqual(texts, [
    "waiting for resources: tokens",
    "waiting for resources: nope is not defined",
    "job 12 at its maxRunning limit (2 of 2 running)",
    "share comp at its burst limit (3 of 3 slots)",
    "user ana at the per-user running limit (8 of 8 slots)",
  ]);
  for (const text of texts) assert.ok(isRefusalText(text) && !isBlockedText(text), text);
  assert.equal(refusalText(["held", 1, 2, ""]), "waiting for 2 more client(s) (1 on hold)");
  assert.equal(refusalText(["busy", "3"]), null);
});

test("a group whose blades could run the job but none is free: counted by state", () => {
  const members = [blade(16, ["lighting"]), blade(16, ["lighting"]), blade(16, ["lighting"])];
  const small = blade(2, ["lighting"]);
  const farm = [...members, small, blade(16, ["comp"])];
  const wait = groupWait(job(4, [group("lighting")]), farm, (b) => b.cpus >= 4);
  assert.deepEqual(
    wait,
    { group: "lighting", ids: members.map((b) => b.id) },
    "the small blade could never run it",
  );
  assert.equal(
    groupWait(job(4), farm, () => true),
    null,
    "no group named",
  );
  const states = (...list: ClientState[]) => new Map(members.map((b, i) => [b.id, list[i] as ClientState]));
  const text = (...list: ClientState[]) => groupWaitText(wait as NonNullable<typeof wait>, states(...list));
  assert.equal(
    text("busy", "disabled", "busy"),
    "no blade in group lighting is available (2 busy, 1 disabled)",
  );
  assert.equal(
    text("not_responding", "quarantined", "unavailable"),
    "no blade in group lighting is available (1 quarantined, 1 unavailable, 1 not responding)",
  );
  assert.equal(text("busy", "idle", "busy"), "waiting for a free client", "one is free");
  assert.ok(!isBlockedText(text("busy", "busy", "busy")), "waiting, not blocked");
  assert.ok(!isRefusalText(text("busy", "busy", "busy")), "the sweeps rewrite it as it changes");
});
