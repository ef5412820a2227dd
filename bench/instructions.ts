// Instructions a redis-server executes per job in each hot job script, counted by valgrind's callgrind: what
// the "Redis CPU per job lifecycle" of bench/scale.ts is made of, in a figure the box's load does not move
// (±1%), so a change to a script can be compared before and after on a busy machine. Opt-in (valgrind is
// slow, and not on every box): `npm run bench -- instructions`; INSTRUCTIONS_JOBS sets the jobs per round
// (default 300); INSTRUCTIONS_KEEP=1 keeps the callgrind dumps (their folder is printed) for callgrind_annotate,
// to see which functions of Redis and Lua the instructions go to.
//
// One client runs the jobs through addJobs (all in one call), moveToAssigned (each on its own idle client),
// recordStarted and moveToFinished (as the agent link and the scheduler call them), one phase at a time,
// without shares and then with 100 shares configured (the jobs spread over them); each set-up runs two rounds
// and reports the second (the first warms Redis' function library and allocations). callgrind_control dumps
// the counts between phases, so a phase's figure is the instructions Redis ran for its commands alone (plus
// its timers over that time, a fraction of a percent).

import { parseNewJob } from "../coordinator/api/jobspec.js";
import { JobStore } from "../coordinator/store/jobs.js";
import { Keys } from "../coordinator/store/keys.js";
import { runScript } from "../coordinator/store/lua-scripts.js";
import { tuneRedis } from "../coordinator/store/tune.js";
import { testLogs } from "../test/support/context.js";
import { budget, hasValgrind, REFERENCE_IR, startCallgrindRedis } from "./callgrind.js";
import type { BenchResult } from "./types.js";

/** Only when named: `npm run bench -- instructions` (bench/run.ts). */
export const optIn = true;

const JOBS = Number(process.env.INSTRUCTIONS_JOBS ?? 300);
const SHARES = 100;
const PREFIX = "b:";
const PHASES = ["addJobs", "moveToAssigned", "recordStarted", "moveToFinished"] as const;

/** One set-up (no shares, or SHARES shares): Ir per job of each phase, from the second of two rounds. */
async function measure(shares: boolean): Promise<Record<(typeof PHASES)[number], number>> {
  const cg = await startCallgrindRedis();
  const keep = Boolean(process.env.INSTRUCTIONS_KEEP);
  // Each round overwrites the one before: the second is reported.
  const ir = {} as Record<(typeof PHASES)[number], number>;
  try {
    const redis = cg.server.client();
    const keys = new Keys(PREFIX);
    // No sweep: its commands would count in the phases. No job here writes output.
    const logs = await testLogs(redis, keys, { sweep: false });
    const store = new JobStore({ redis, keys, settings: { maxOutputBytes: 1 }, logs });
    // As a coordinator does at start, before its records are written.
    await tuneRedis(redis);
    for (let c = 1; c <= JOBS * 2; c++)
      await redis.hset(`${PREFIX}client:${c}`, "hostname", `node${c}`, "cpus", "4", "available", "1");
    if (shares)
      for (let s = 0; s < SHARES; s++)
        await redis.hset(`${PREFIX}shares`, `s${s}`, JSON.stringify({ weight: 1 + (s % 3) }));
    for (const round of ["r1", "r2"]) {
      const specs = Array.from({ length: JOBS }, (_, i) => ({
        name: `l${i}`,
        command: "true",
        ...(shares ? { share: `s${i % SHARES}` } : {}),
      }));
      // Each round's jobs go to clients of their own, so every assignment finds an idle client.
      const firstClient = round === "r1" ? 1 : JOBS + 1;
      cg.dump(`${round}-start`);
      const ids = await store.addJobs(parseNewJob(specs, null, null));
      ir.addJobs = cg.dump(`${round}-addJobs`);
      const attempts: number[] = [];
      for (const [k, id] of ids.entries()) {
        const reply = (await runScript(redis, PREFIX, "moveToAssigned", [id, firstClient + k])) as unknown[];
        attempts.push(Number(reply[1]));
      }
      ir.moveToAssigned = cg.dump(`${round}-moveToAssigned`);
      for (const [k, id] of ids.entries())
        await runScript(redis, PREFIX, "recordStarted", [id, attempts[k] as number, 1, firstClient + k]);
      ir.recordStarted = cg.dump(`${round}-recordStarted`);
      for (const [k, id] of ids.entries())
        await store.moveToFinished(id, attempts[k] as number, 2, {
          exitCode: 0,
          signal: null,
          reason: "exited",
        });
      ir.moveToFinished = cg.dump(`${round}-moveToFinished`);
    }
  } finally {
    await cg.stop({ keep });
  }
  if (keep) console.log(`  callgrind dumps (${shares ? "shares" : "no shares"}): ${cg.dir}`);
  return Object.fromEntries(PHASES.map((p) => [p, Math.round(ir[p] / JOBS)])) as Record<
    (typeof PHASES)[number],
    number
  >;
}

export async function run(): Promise<BenchResult[]> {
  if (!hasValgrind()) {
    return [{ name: "skipped", value: 0, unit: "", note: "valgrind is missing (apt-get install valgrind)" }];
  }
  const out: BenchResult[] = [];
  for (const shares of [false, true]) {
    const ir = await measure(shares);
    const setUp = shares ? `with ${SHARES} shares` : "no shares";
    for (const phase of PHASES)
      out.push({ name: `${phase}, ${setUp}`, value: ir[phase], unit: "Ir per job" });
    const lifecycle = ir.addJobs + ir.moveToAssigned + ir.moveToFinished;
    // The scale bench's µs targets as instructions (bench/callgrind.ts): ≤ 60 µs without shares, ≤ 65 with.
    const limit = budget(REFERENCE_IR.scripts, shares ? 65 : 60);
    out.push({
      name: `job lifecycle (addJobs + moveToAssigned + moveToFinished), ${setUp}`,
      value: lifecycle,
      unit: "Ir per job",
      target: `<= ${limit.toLocaleString("en-US")} (${shares ? 65 : 60} µs where the reference ran 60)`,
      ok: lifecycle <= limit,
      note:
        `${(lifecycle / REFERENCE_IR.scripts).toFixed(3)}× the reference code's ${REFERENCE_IR.scripts.toLocaleString("en-US")}; ` +
        `callgrind, ${JOBS} jobs, second of two rounds; recordStarted apart (the scale bench's lifecycle has none)`,
    });
  }
  return out;
}
