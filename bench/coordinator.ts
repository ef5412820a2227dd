// The coordinator process and its non-job APIs: time from start to the first answered ping with the
// embedded redis-server, how long a call waits when that redis-server is killed (supervisor restart), and
// the notes API under 8 concurrent keep-alive clients.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { XmlRpcClient } from "../shared/xmlrpc/index.js";
import { startCoordinator } from "../test/support/coordinator.js";
import type { BenchResult } from "./types.js";

const CLIENTS = 8;
const NOTES = 4000;

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const data = mkdtempSync(join(tmpdir(), "openhq-bench-coordinator-"));
  try {
    const t0 = performance.now();
    const coordinator = await startCoordinator({ embedded: true, args: ["--data", data] });
    results.push({
      name: "start with embedded redis-server, to first ping",
      value: Math.round(performance.now() - t0),
      unit: "ms",
      note: "includes tsx compiling the sources",
    });
    const clients = Array.from({ length: CLIENTS }, () => new XmlRpcClient(coordinator.url));
    try {
      const pid = Number(readFileSync(join(data, "redis", "redis.pid"), "utf8"));
      process.kill(pid, "SIGKILL");
      const t1 = performance.now();
      await clients[0]?.call("getNoteThreadIds");
      results.push({
        name: "first call after SIGKILL of the private redis-server",
        value: Math.round(performance.now() - t1),
        unit: "ms",
        note: "the supervisor restarts it from the AOF; the call waits instead of failing",
      });

      const t2 = performance.now();
      let next = 0;
      await Promise.all(
        clients.map(async (client) => {
          while (next < NOTES) {
            const i = next++;
            await client.call("addNote", `note ${i}`, null, null, null);
          }
        }),
      );
      const seconds = (performance.now() - t2) / 1000;
      results.push({
        name: `addNote, ${CLIENTS} concurrent clients (each a new thread)`,
        value: Math.round(NOTES / seconds),
        unit: "calls/s",
      });

      const t3 = performance.now();
      const threads = await clients[0]?.call<unknown[]>("getNoteThreads");
      results.push({
        name: `getNoteThreads of ${threads?.length ?? 0} threads with their notes`,
        value: Math.round(performance.now() - t3),
        unit: "ms",
      });
    } finally {
      for (const client of clients) client.close();
      await coordinator.stop();
    }
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
  return results;
}
