// `npm run bench -- logs`: the job log store (issue 10) end to end with a real coordinator and agent: a job
// printing 1 GB of render-log lines (OPENHQ_BENCH_LOG_MB to change) through agent -> coordinator -> log
// store, timed from newjob until its log is sealed, checked by sha256 (the sealed record and a download);
// Redis's peak memory above idle during that job; Redis memory per finished job; getJobOutput(id, 65536)
// on that log; the compression ratio of render-log text.

import { createHash } from "node:crypto";
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { XmlRpcClient } from "../shared/xmlrpc/client.js";
import { startAgent } from "../test/support/agent.js";
import { startCoordinator } from "../test/support/coordinator.js";
import { startRedis } from "../test/support/redis.js";
import type { BenchResult } from "./types.js";

const MB = 1024 * 1024;
const LOG_MB = Number(process.env["OPENHQ_BENCH_LOG_MB"] ?? 1024);
/** The job prints this file over and over: render-log lines, every one different within it. */
const PIECE_MB = 64;
const SMALL_JOBS = 50;
const FINISHED = ["succeeded", "failed", "cancelled", "abandoned"];

function writePiece(path: string): Buffer {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < PIECE_MB * MB; i++) {
    const frame = 1001 + Math.floor(i / 4000);
    const line =
      i % 50 === 0
        ? `[${String(Math.floor(i / 3600) % 24).padStart(2, "0")}:${String(Math.floor(i / 60) % 60).padStart(2, "0")}:${String(i % 60).padStart(2, "0")}] mantra: Frame ${frame} - Generating Image: /jobs/shot_010/render/beauty.${frame}.exr (1920x1080)\n`
        : `mantra: frame ${frame} tile ${i % 240}/240 bucket (${(i * 64) % 1920},${(i * 17) % 1080}) samples ${((i * 7) % 8) + 1}x${((i * 3) % 8) + 1} rays ${(i * 7919) % 1000003} mem ${1200 + ((i * 37) % 4096)} MB elapsed ${(i * 0.0137).toFixed(3)}s\n`;
    lines.push(line);
    size += line.length;
  }
  const piece = Buffer.from(lines.join("")).subarray(0, PIECE_MB * MB);
  const fd = openSync(path, "w");
  writeSync(fd, piece);
  closeSync(fd);
  return piece;
}

async function until<T>(probe: () => Promise<T | undefined | false>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function run(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), "openhq-bench-logs-"));
  const redis = await startRedis();
  const db = redis.client();
  const coordinator = await startCoordinator({
    redisUrl: redis.url,
    env: { OPENHQ_JOB_LOGS_DIR: join(dir, "logs") },
  });
  const agent = await startAgent({ serverUrl: coordinator.url });
  const hq = new XmlRpcClient(coordinator.url, { timeoutMs: 600_000 });
  const keys = coordinator.keys;
  const used = async () => Number(/used_memory:(\d+)/.exec(await db.info("memory"))?.[1]);
  const record = (id: number) =>
    until(async () => (await db.hget(keys.job(id), "log:1"))?.split(" "), 600_000);
  const runJob = async (command: string) => {
    const [id] = await hq.call<number[]>("newjob", { name: "bench log", shell: "bash", command });
    await until(async () => FINISHED.includes(String(await hq.call("getstatus", id ?? 0))), 600_000);
    return id ?? 0;
  };
  const results: BenchResult[] = [];
  try {
    await until(async () => ((await hq.call<unknown[]>("getClients")) ?? []).length > 0, 30_000);
    const piecePath = join(dir, "piece.log");
    const piece = writePiece(piecePath);
    const repeats = Math.max(1, Math.round(LOG_MB / PIECE_MB));
    const expected = createHash("sha256");
    for (let i = 0; i < repeats; i++) expected.update(piece);
    const sha = expected.digest("hex");
    const bytes = repeats * piece.length;
    await record(await runJob(`head -c ${3 * MB} ${piecePath}`)); // every script loaded, connections made
    await new Promise((r) => setTimeout(r, 2000));

    // 1 + 2: throughput, peak Redis memory.
    const idle = await used();
    let peak = idle;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, await used());
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    const t0 = performance.now();
    const [id] = await hq.call<number[]>("newjob", {
      name: "bench 1 GB log",
      shell: "bash",
      command: `for i in $(seq ${repeats}); do cat ${piecePath}; done`,
    });
    const [size, z, , , recordSha] = await record(id ?? 0);
    const seconds = (performance.now() - t0) / 1000;
    sampling = false;
    await sampler;
    const status = String(await hq.call("getstatus", id ?? 0));
    const download = createHash("sha256");
    const res = await fetch(`${coordinator.url}/jobs/${id}/log`);
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) download.update(chunk);
    const same = recordSha === sha && download.digest("hex") === sha && Number(size) === bytes;
    const rate = bytes / MB / seconds;
    results.push({
      name: `${bytes / MB} MB log, agent -> coordinator -> log store (until sealed)`,
      value: Math.round(rate),
      unit: "MB/s",
      target: ">= 100 MB/s",
      ok: rate >= 100 && same && status === "succeeded",
      note: `${seconds.toFixed(1)} s; sha256 of the sealed record and of a download ${same ? "identical" : "DIFFERENT"}`,
    });
    results.push({
      name: "peak Redis memory above idle during that job",
      value: Number(((peak - idle) / MB).toFixed(1)),
      unit: "MB",
      target: "<= 16 MB",
      ok: peak - idle <= 16 * MB,
    });
    results.push({
      name: "compression ratio, render-log text (gzip level 1 members)",
      value: Number((Number(size) / Number(z)).toFixed(2)),
      unit: "x",
      note: `${(Number(z) / MB).toFixed(1)} MB on disk for ${(Number(size) / MB).toFixed(0)} MB`,
    });

    // 4: getJobOutput(id, 65536) on that log.
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      const tail = await hq.call<string>("getJobOutput", id ?? 0, 65536);
      times.push(performance.now() - t);
      if (tail.length !== 65536) throw new Error(`tail of ${tail.length} characters`);
    }
    times.sort((a, b) => a - b);
    const median = times[times.length >> 1] ?? 0;
    results.push({
      name: `getJobOutput(id, 65536) on the ${bytes / MB} MB log (median of 20)`,
      value: Number(median.toFixed(1)),
      unit: "ms",
      target: "<= 20 ms",
      ok: median <= 20,
      note: `best ${(times[0] ?? 0).toFixed(1)} ms, over XML-RPC`,
    });

    // 3: Redis memory per finished job, whatever its log size: the 1 GB job, and SMALL_JOBS jobs of 1 MB
    // each after as many to warm up (Redis allocates some structures lazily); client buffers settle first.
    await new Promise((r) => setTimeout(r, 2000));
    const afterBig = (await used()) - idle;
    const smallBatch = async () => {
      let last = 0;
      for (let i = 0; i < SMALL_JOBS; i++) last = await runJob(`head -c ${MB} ${piecePath}`);
      await record(last);
      await until(async () => (await db.zcard(keys.logsOpen)) === 0, 60_000);
      return last;
    };
    await smallBatch();
    await new Promise((r) => setTimeout(r, 2000));
    const before = await used();
    const last = await smallBatch();
    await new Promise((r) => setTimeout(r, 2000));
    const perJob = ((await used()) - before) / SMALL_JOBS;
    const recordBytes = (await db.hget(keys.job(last), "log:1"))?.length ?? 0;
    const bigHash = Number(await db.memory("USAGE", keys.job(id!)));
    const bigKeys = await db.keys(keys.job(id!) + ":*");
    results.push({
      name: "Redis memory per finished job (50 jobs with a 1 MB log each)",
      value: Math.round(perJob),
      unit: "bytes",
      target: "<= 1536 bytes",
      ok: perJob <= 1536 && bigHash <= 1536 && bigKeys.length === 0,
      note:
        `the job itself with its status/expiry/history entries; its log's share is the ${recordBytes}-byte ` +
        `record log:1. The ${bytes / MB} MB job: its hash ${bigHash} bytes (MEMORY USAGE), ` +
        `${bigKeys.length} other keys; used_memory then ${afterBig} bytes above idle (allocator, Lua, buffers)`,
    });
  } finally {
    hq.close();
    await agent.stop();
    await coordinator.stop();
    db.disconnect();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}
