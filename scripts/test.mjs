// Runs every test/**/*.test.ts file with node:test (Node 20 has no glob support in `node --test`), except
// test/hosts/, which needs root and is `npm run test:hosts` (scripts/test-hosts.ts).
// Extra arguments narrow the run to files whose path contains one of them: `npm run test:unit -- store`.
// `--jobs N` (or OPENHQ_TEST_JOBS) sets how many files run at once (default 2).
//
// The test files, and the coordinators, agents and CLIs they start, run from a compiled copy made once per run
// (scripts/test-build.mjs, test/support/programs.ts), with the repository as the working folder.
// Each file runs in its own process (`node <file>`: node:test runs a file's tests in the process that imports
// it, so no second runner process per file), its output printed whole when it ends so files do not
// interleave; at the end, a table of the files by wall time, the slowest first.
import { Buffer } from "node:buffer";
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { clearTimeout, setTimeout } from "node:timers";
import { buildPrograms } from "./test-build.mjs";

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "support" || entry.name === "hosts" ? [] : find(path);
    return entry.name.endsWith(".test.ts") ? [path] : [];
  });
}

// The longest files start first, so the workers finish together instead of one waiting on a long file
// picked up last (measured per file in a quiet run; the rest follow by name).
const LONGEST = [
  "faults-farm",
  "jobs-bulk",
  "logs-store",
  "chaos-run",
  "blade-loss-farm",
  "gpus-farm",
  "agent-e2e",
  "notices-webhooks",
  "link-liveness",
  "web-dashboard",
  "fuzz-link",
  "chaos-crash",
  "deploy-oneliner",
];
const rank = (f) => {
  const i = LONGEST.findIndex((name) => f.endsWith(`/${name}.test.ts`));
  return i < 0 ? LONGEST.length : i;
};

// A file that runs this long is stuck: its process group is killed and the file fails.
const FILE_TIMEOUT_MS = 900_000;

const argv = process.argv.slice(2);
const jobsAt = argv.indexOf("--jobs");
const jobs = Number(jobsAt >= 0 ? argv.splice(jobsAt, 2)[1] : (process.env["OPENHQ_TEST_JOBS"] ?? 2));
if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`--jobs must be a whole number ≥ 1, not ${jobs}`);
const filters = argv;
const files = find("test")
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));

/** The process groups of the files running now. */
const running = new Set();

/** Runs one file; resolves with its wall time, exit status and the counts its reporter printed. */
function runFile(file) {
  const started = Date.now();
  return new Promise((resolve) => {
    const compiled = join(programs.dir, file.replace(/\.ts$/, ".js"));
    // Through sh, whose `times` after node ends gives the CPU of the file's process and every process it
    // started and reaped (coordinators, agents, redis-servers, jobs, Python): what the file costs the box.
    const child = spawn(
      "/bin/sh",
      [
        "-c",
        '"$@"; status=$?; times >&3; exit $status',
        "sh",
        process.execPath,
        "--enable-source-maps",
        "--test-reporter=spec",
        compiled,
      ],
      {
        env: { ...process.env, OPENHQ_TEST_PROGRAMS: programs.dir },
        stdio: ["ignore", "pipe", "pipe", "pipe"],
        detached: true,
      },
    );
    running.add(child.pid);
    const chunks = [];
    child.stdout.on("data", (c) => chunks.push(c));
    child.stderr.on("data", (c) => chunks.push(c));
    let times = "";
    child.stdio[3].on("data", (c) => (times += c));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      process.kill(-child.pid, "SIGKILL");
    }, FILE_TIMEOUT_MS);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      running.delete(child.pid);
      const output = Buffer.concat(chunks).toString();
      const count = (name) => Number(new RegExp(`^ℹ ${name} (\\d+)$`, "m").exec(output)?.[1] ?? 0);
      const ok = code === 0 && !timedOut;
      resolve({
        file,
        ms: Date.now() - started,
        ok,
        status: timedOut ? `killed after ${FILE_TIMEOUT_MS / 1000} s` : (signal ?? `exit ${code}`),
        output,
        tests: count("tests"),
        fail: count("fail") || (ok ? 0 : 1),
        cpuMs: childrenCpuMs(times),
      });
    });
  });
}

/** The children's user + system CPU from sh's `times` (its second line: "1m2.500s 0m3.250s"), in ms. */
function childrenCpuMs(times) {
  const m = /(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s\s*$/.exec(times.trim());
  return m ? Math.round((Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4])) * 1000) : NaN;
}

const programs = await buildPrograms();
// The test processes are killed with the runner (Ctrl-C, or a CI timeout).
for (const signal of ["SIGINT", "SIGTERM"])
  process.on(signal, () => {
    for (const pid of running) process.kill(-pid, "SIGKILL");
    programs.remove();
    process.exit(130);
  });

const started = Date.now();
const results = [];
const queue = [...files];
await Promise.all(
  Array.from({ length: Math.min(jobs, queue.length) }, async () => {
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
      const result = await runFile(file);
      results.push(result);
      process.stdout.write(
        `\n# ${file} (${(result.ms / 1000).toFixed(1)} s, ${result.status})\n${result.output}`,
      );
    }
  }),
);

programs.remove();
const seconds = (ms) => (ms / 1000).toFixed(1).padStart(7);
console.log("\n# wall time per file, slowest first, with its CPU (its processes, user + system)");
for (const r of [...results].sort((a, b) => b.ms - a.ms))
  console.log(
    `# ${seconds(r.ms)} s  ${seconds(r.cpuMs)} s CPU  ${String(r.tests).padStart(3)} tests  ${r.ok ? "ok  " : "FAIL"}  ${r.file}`,
  );
const failed = results.filter((r) => !r.ok);
const tests = results.reduce((n, r) => n + r.tests, 0);
const sum = results.reduce((n, r) => n + r.ms, 0);
const cpu = results.reduce((n, r) => n + r.cpuMs, 0);
console.log(
  `# ${files.length} files, ${tests} tests, ${failed.length} files failed; ` +
    `${((Date.now() - started) / 1000).toFixed(0)} s wall (${(sum / 1000).toFixed(0)} s of file time, ${jobs} at once; ${(cpu / 1000).toFixed(0)} s CPU)`,
);
for (const r of failed) console.log(`# FAILED: ${r.file} (${r.status})`);
process.exit(failed.length === 0 ? 0 : 1);
