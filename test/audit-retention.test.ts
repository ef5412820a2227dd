// The audit log's age bound (openhq.audit.keepDays, coordinator/audit/retention.ts) on a real Redis and real
// files: a sweep removes the stream's records older than the bound (thousands, in bounded calls, and the few
// in the node the cutoff falls in) and the day files of days wholly before it, of every coordinator host,
// and keeps the rest; a folder not made yet is no error.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Redis } from "ioredis";
import { AuditRetention } from "../coordinator/audit/retention.js";
import { Keys } from "../coordinator/store/keys.js";
import { useRedis } from "./support/redis.js";

const DAY = 86_400_000;
const keys = new Keys("tr:");
let redis: Redis;
useRedis((client) => {
  redis = client;
});

test("a sweep removes the records and day files older than keepDays, and keeps the rest", async () => {
  const now = Date.parse("2026-12-04T12:00:00Z");
  // 12,000 records 40 to 31 days old, then 50 from the last 29 days (ids are their times).
  const pipeline = redis.pipeline();
  for (let i = 0; i < 12_000; i++)
    pipeline.xadd(keys.audit, `${now - 40 * DAY + i * 60_000}-0`, "e", `{"old":${i}}`);
  for (let i = 0; i < 50; i++) pipeline.xadd(keys.audit, `${now - 29 * DAY + i * 60_000}-0`, "e", "{}");
  await pipeline.exec();
  const dir = mkdtempSync(join(tmpdir(), "openhq-audit-keep-"));
  const names = [
    "2026-10-01-hq1.jsonl",
    "2026-11-03-hq2.jsonl", // the day before the cutoff's (2026-11-04): wholly older
    "2026-11-04-hq1.jsonl", // the cutoff's day: it still holds younger records
    "2026-12-04-hq1.jsonl",
    "notes.txt",
  ];
  for (const name of names) writeFileSync(join(dir, name), "{}\n");
  const lines: string[] = [];
  const retention = new AuditRetention({ redis, keys }, dir, 30, (l) => lines.push(l));

  assert.deepEqual(await retention.sweep(now), { records: 12_000, files: 2 });
  assert.equal(await redis.xlen(keys.audit), 50);
  const oldest = (await redis.xrange(keys.audit, "-", "+", "COUNT", 1))[0]?.[0] ?? "";
  assert.ok(Number(oldest.split("-")[0]) >= now - 30 * DAY, oldest);
  assert.deepEqual(readdirSync(dir).sort(), ["2026-11-04-hq1.jsonl", "2026-12-04-hq1.jsonl", "notes.txt"]);
  assert.equal(lines.join("\n"), "");

  // Nothing more to remove; a coordinator that keeps no files (or whose folder is not made yet) is fine.
  assert.deepEqual(await retention.sweep(now), { records: 0, files: 0 });
  const none = new AuditRetention({ redis, keys }, join(dir, "missing"), 30, (l) => lines.push(l));
  assert.deepEqual(await none.sweep(now), { records: 0, files: 0 });
  assert.equal(lines.join("\n"), "");
});
