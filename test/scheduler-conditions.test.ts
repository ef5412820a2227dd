// Condition matching (docs/COMPAT.md §3) as a pure function: every name and op, and the value separators.
import assert from "node:assert/strict";
import { test } from "node:test";
import { satisfies, type ClientFacts } from "../coordinator/scheduler/conditions.js";

const plain: ClientFacts = { hostname: "node1", name: "", os: "linux", groups: new Set(["render", "3"]) };
const gpu: ClientFacts = { hostname: "node1", name: "gpu", os: "linux", groups: new Set() };
const other: ClientFacts = { hostname: "node2", name: "", os: "windows", groups: new Set() };

const cond = (name: string, op: string, value: string) => ({ type: "client", name, op, value });

test("hostname:name follows savePermittedClientsList: host = any client there, host: = the unnamed one", () => {
  const permitted = cond("hostname:name", "in", "node1");
  assert.ok(satisfies(plain, permitted));
  assert.ok(satisfies(gpu, permitted));
  assert.ok(!satisfies(other, permitted));
  const unnamed = cond("hostname:name", "in", "node1:");
  assert.ok(satisfies(plain, unnamed));
  assert.ok(!satisfies(gpu, unnamed));
  const named = cond("hostname:name", "==", "node1:gpu");
  assert.ok(satisfies(gpu, named));
  assert.ok(!satisfies(plain, named));
});

test("hostname, group and os with every op; lists split on commas, semicolons and whitespace", () => {
  assert.ok(satisfies(plain, cond("hostname", "==", "NODE1")));
  assert.ok(satisfies(other, cond("hostname", "in", "node3;node2")));
  assert.ok(satisfies(other, cond("hostname", "any", "node3 node2")));
  assert.ok(!satisfies(plain, cond("hostname", "not_in", "node2,node1")));
  assert.ok(satisfies(plain, cond("hostname", "!=", "node2")));
  assert.ok(satisfies(plain, cond("group", "in", "render")));
  assert.ok(satisfies(plain, cond("group", "==", "3")));
  assert.ok(!satisfies(gpu, cond("group", "in", "render")));
  assert.ok(satisfies(other, cond("os", "==", "windows")));
  assert.ok(!satisfies(other, cond("os", "in", "linux,macosx")));
});

test("an unknown op never matches; a non-client condition type is ignored", () => {
  assert.ok(!satisfies(plain, cond("hostname", "~=", "node1")));
  assert.ok(satisfies(plain, { type: "other", name: "hostname", op: "==", value: "nowhere" }));
});
