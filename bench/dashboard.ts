// Dashboard responsiveness with 10,000 jobs: a real coordinator holding 10,000 roots (some with children),
// timed page loads of the paged jobs list (plain, filtered by name, a deep page, by status), the live
// table refresh, a job page, and /metrics. Median of several loads each. Then the frame table of one parent
// with 10,000 children (default page, sorted by duration, filtered by status): target <= 300 ms. Then the
// 24 h farm charts over a full history (1,440 samples): target <= 100 ms; and a name search over 20,000 jobs.

import { Redis } from "ioredis";
import { HQServer, type JobSpec } from "../shared/client/index.js";
import { startCoordinator } from "../test/support/coordinator.js";
import type { BenchResult } from "./types.js";

const ROOTS = 10_000;
const LOADS = 7;

async function median(url: string, headers: Record<string, string> = {}): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < LOADS; i++) {
    const started = performance.now();
    const res = await fetch(url, { headers });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? NaN;
}

export async function run(): Promise<BenchResult[]> {
  const coordinator = await startCoordinator();
  const hq = new HQServer(coordinator.url);
  try {
    for (let start = 0; start < ROOTS; start += 500) {
      const batch: JobSpec[] = [];
      for (let i = start; i < start + 500; i++) {
        batch.push({
          name: `shot${String(i).padStart(5, "0")} render`,
          submittedBy: i % 7 === 0 ? "anna" : "ben",
          ...(i % 10 === 0
            ? { children: [{ name: `shot${i} frames`, command: "true" }] }
            : { command: "true" }),
        });
      }
      await hq.newjob(batch);
    }
    const batch = (start: number): JobSpec[] =>
      Array.from({ length: 1000 }, (_, i) => ({ name: `frame ${start + i}`, command: "true" }));
    // A commandless parent with no children would succeed at once: it gets its first 1,000 in its spec.
    const [parent] = await hq.newjob({ name: "frames parent", submittedBy: "anna", children: batch(0) });
    for (let start = 1000; start < 10_000; start += 1000) await hq.newjob(batch(start), parent);
    const u = coordinator.url;
    const target = "< 500 ms";
    const pages: [string, string, Record<string, string>?][] = [
      ["jobs page, first 50 of 10,000 roots", "/jobs"],
      ["jobs page, name filter over 10,000", "/jobs?name=shot0999"],
      ["jobs page, submitter filter, 200 per page", "/jobs?submitter=anna&per=200"],
      ["jobs page 150 (deep paging)", "/jobs?page=150"],
      ["jobs page, status=runnable", "/jobs?status=runnable"],
      ["jobs table live refresh (htmx)", "/jobs", { "hx-request": "true" }],
      ["job page", "/jobs/5000"],
      ["/metrics", "/metrics"],
    ];
    const framePages: [string, string][] = [
      ["frame table, 10,000-child parent (htmx fragment)", `/jobs/${parent}/frames`],
      ["frame table sorted by duration, desc", `/jobs/${parent}/frames?fsort=duration&fdir=desc`],
      ["frame table filtered to running, page 3", `/jobs/${parent}/frames?fstatus=runnable&fpage=3`],
      ["parent job page with its frame table", `/jobs/${parent}`],
    ];
    const results: BenchResult[] = [];
    for (const [name, path, headers] of pages) {
      const ms = await median(u + path, headers);
      results.push({ name, value: Math.round(ms * 10) / 10, unit: "ms", target, ok: ms < 500 });
    }
    for (const [name, path] of framePages) {
      const ms = await median(u + path);
      results.push({ name, value: Math.round(ms * 10) / 10, unit: "ms", target: "<= 300 ms", ok: ms <= 300 });
    }
    // A full day of history, as the coordinators' minute sampler leaves it.
    const redis = new Redis(coordinator.redisUrl);
    const minute = Date.now() - (Date.now() % 60_000);
    const args: (string | number)[] = [];
    for (let i = 0; i < 1440; i++) {
      const t = minute - i * 60_000;
      args.push(t, [t, i % 64, 64, 20, 10, 1, 1, 0, 500 + i, i % 64].join(","));
    }
    await redis.zadd(coordinator.keys.historyFarm, ...args);
    await redis.quit();
    for (const [name, path] of [
      ["24 h utilisation chart (SVG, 1,440 samples)", "/farm/utilisation.svg?hours=24"],
      ["farm page, three 24 h charts", "/farm?hours=24"],
    ] as const) {
      const ms = await median(u + path);
      results.push({ name, value: Math.round(ms * 10) / 10, unit: "ms", target: "<= 100 ms", ok: ms <= 100 });
    }
    const ms = await median(`${u}/search?q=frame%209999`);
    results.push({
      name: "search by name, one bounded scan of 20,000 newest jobs",
      value: Math.round(ms * 10) / 10,
      unit: "ms",
      target: "< 500 ms",
      ok: ms < 500,
    });
    return results;
  } finally {
    hq.rpc.close();
    await coordinator.stop();
  }
}
