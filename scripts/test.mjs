// Runs every test/**/*.test.ts file with node:test (Node 20 has no glob support in `node --test`), except
// test/hosts/, which needs root and is `npm run test:hosts` (scripts/test-hosts.ts).
// Extra arguments narrow the run to files whose path contains one of them: `npm run test:unit -- store`.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "support" || entry.name === "hosts" ? [] : find(path);
    return entry.name.endsWith(".test.ts") ? [path] : [];
  });
}

// The longest files start first, so the two workers finish together instead of one waiting on a long file
// picked up last (measured per file in a quiet run; the rest follow by name).
const LONGEST = [
  "chaos-run",
  "faults-farm",
  "agent-e2e",
  "jobs-bulk",
  "fuzz",
  "fuzz-link",
  "logs-store",
  "agent-link",
  "chaos-crash",
  "scheduler-reasons-paged",
];
const rank = (f) => {
  const i = LONGEST.findIndex((name) => f.endsWith(`/${name}.test.ts`));
  return i < 0 ? LONGEST.length : i;
};

const filters = process.argv.slice(2);
const files = find("test")
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
const result = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-concurrency=2", "--test-timeout=600000", ...files],
  { stdio: "inherit" },
);
process.exit(result.status ?? 1);
