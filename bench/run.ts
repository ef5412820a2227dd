// `npm run bench`: runs every benchmark part (bench/<part>.ts exporting `run()`), prints each figure with
// its target, and a summary line. `npm run bench -- xmlrpc jobs` runs only the parts named; a part that
// exports `optIn = true` (slow, or needing a tool not on every box) runs only when named.
// Benchmarks print figures; they never fail the build (these machines are shared and noisy).

import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import type { BenchResult } from "./types.js";

const here = dirname(fileURLToPath(import.meta.url));
const skip = new Set(["run.ts", "types.ts"]);
const wanted = process.argv.slice(2);
const parts = readdirSync(here)
  .filter((f) => f.endsWith(".ts") && !skip.has(f) && !f.startsWith("sim-"))
  .map((f) => f.slice(0, -3))
  .filter((name) => wanted.length === 0 || wanted.includes(name))
  .sort();

function format(value: number): string {
  if (Number.isInteger(value)) return value.toLocaleString("en-US");
  return value >= 100 ? Math.round(value).toLocaleString("en-US") : value.toPrecision(3);
}

let met = 0;
let missed = 0;
for (const part of parts) {
  console.log(`\n== ${part}`);
  const mod = (await import(join(here, `${part}.ts`))) as {
    run?: () => Promise<BenchResult[]>;
    optIn?: boolean;
  };
  if (typeof mod.run !== "function") continue;
  if (mod.optIn === true && !wanted.includes(part)) {
    console.log(`  opt-in: npm run bench -- ${part}`);
    continue;
  }
  let results: BenchResult[];
  try {
    results = await mod.run();
  } catch (err) {
    console.log(`  failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    missed++;
    continue;
  }
  for (const r of results) {
    const verdict = r.ok === undefined ? "" : r.ok ? "  ok" : "  MISSED";
    const target = r.target ? `  (target ${r.target})` : "";
    const note = r.note ? `  — ${r.note}` : "";
    console.log(`  ${r.name}: ${format(r.value)} ${r.unit}${target}${verdict}${note}`);
    if (r.ok === true) met++;
    if (r.ok === false) missed++;
  }
}
console.log(`\nbench: ${met} targets met, ${missed} missed`);
