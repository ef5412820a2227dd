// The TypeScript client (`import { HQServer } from "openhq"`): its import graph stays free of the coordinator,
// the agent and their dependencies; waitFor; the asked-for attributes typed present; per-call timeouts; and
// typed errors (Fault, TransportError) against a real coordinator and a server that never answers.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, relative, resolve } from "node:path";
import {
  Fault,
  FINISHED_STATUSES,
  HQServer,
  JOB_STATUSES,
  TransportError,
  type JobStatus,
} from "../shared/client/index.js";
import { freePort } from "./support/ports.js";
import { agentlessFarm } from "./support/one-agent-farm.js";

const ROOT = process.cwd();

/** Every module reachable from `entry` by static imports: [relative paths, bare package specifiers]. */
function importGraph(entry: string): { files: string[]; packages: Set<string> } {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/^(?:import|export)\s[^;]*?from\s+"([^"]+)"/gms)) {
      const spec = m[1] as string;
      if (/^import\s+type\s/.test(m[0]) || /^export\s+type\s/.test(m[0])) continue; // erased at run time
      if (spec.startsWith(".")) visit(resolve(dirname(file), spec.replace(/\.js$/, ".ts")));
      else packages.add(spec);
    }
  };
  visit(join(ROOT, entry));
  return { files: [...seen].map((f) => relative(ROOT, f)), packages };
}

test("the client entry imports nothing server-side, and package.json points '.' at it", () => {
  const { files, packages } = importGraph("shared/client/index.ts");
  for (const f of files) assert.ok(f.startsWith("shared/"), `${f} is reachable from the client`);
  const external = [...packages].filter((p) => !p.startsWith("node:"));
  assert.deepEqual(external, ["ws"], `runtime packages: ${external.join(", ")}`);
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
    exports: Record<string, string>;
  };
  assert.equal(pkg.exports["."], "./dist/shared/client/index.js");
  assert.deepEqual(JOB_STATUSES.includes("succeeded"), true);
  assert.ok(FINISHED_STATUSES.every((s) => JOB_STATUSES.includes(s)));
});

test("waitFor, typed attributes, per-call timeouts and typed errors", async (t) => {
  const { hq } = await agentlessFarm(t);

  const [id] = await hq.newjob({ name: "waits", command: "true", host: "nowhere" });
  const job = await hq.getJob(id as number, ["status", "priority"]);
  const status: JobStatus = job.status; // present by type: asked for
  const priority: number = job.priority;
  assert.equal(status, "runnable");
  assert.equal(priority, 0);

  // Not finished within 300 ms: a TransportError that says it timed out.
  const late = await hq.waitFor([id as number], FINISHED_STATUSES, [], { pollMs: 50, timeoutMs: 300 }).then(
    () => null,
    (err: unknown) => err,
  );
  assert.ok(late instanceof TransportError && late.timedOut, String(late));
  await hq.cancelJobs([id as number]);
  const [done] = await hq.waitFor([id as number], ["cancelled"], ["name"], { pollMs: 50, timeoutMs: 10_000 });
  assert.equal(done?.status, "cancelled");
  assert.equal(done?.name, "waits");

  await assert.rejects(hq.getJob(424242), (err: unknown) => err instanceof Fault && err.faultCode === 404);

  const dead = new HQServer(`http://127.0.0.1:${await freePort()}`);
  t.after(() => dead.rpc.close());
  await assert.rejects(
    dead.ping(),
    (err: unknown) => err instanceof TransportError && err.code === "ECONNREFUSED",
  );

  // A server that accepts and never answers: the per-call deadline ends the call.
  const silent = createServer(() => {});
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
  t.after(() => void silent.close());
  const port = (silent.address() as { port: number }).port;
  const stuck = new HQServer(`http://127.0.0.1:${port}`);
  t.after(() => stuck.rpc.close());
  const started = Date.now();
  await assert.rejects(
    stuck.withTimeout(300).ping(),
    (err: unknown) => err instanceof TransportError && err.timedOut,
  );
  assert.ok(Date.now() - started < 5000);
});
