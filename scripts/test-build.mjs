// Compiles the test files and the programs they start (coordinator, agent, cli) to plain JavaScript once per
// test run, so each test process, coordinator and agent starts on plain node instead of compiling TypeScript
// through tsx each time (about a second of CPU per process; a run starts hundreds). esbuild strips the types
// file by file, as tsx does, into a fresh folder inside node_modules/ (so the programs find package.json, the
// packages and dist/install as from the sources), with the files they read at run time copied beside them.
// Source maps are inline, so a failing test's stack names the .ts lines.
import { build } from "esbuild";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

const SOURCES = ["coordinator", "agent", "shared", "cli", "scripts", "test"];
const ASSETS = ["coordinator/store/lua", "coordinator/web/static", "scripts/chaos-stream.py"];

function typescript(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return typescript(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [path] : [];
  });
}

/** Builds the programs; returns the folder and a function that removes it. */
export async function buildPrograms() {
  mkdirSync("node_modules/.cache", { recursive: true });
  const dir = mkdtempSync("node_modules/.cache/openhq-test-");
  await build({
    entryPoints: SOURCES.flatMap(typescript),
    outdir: dir,
    outbase: ".",
    format: "esm",
    platform: "node",
    target: "node20",
    sourcemap: "inline",
    logLevel: "warning",
  });
  for (const assets of ASSETS) cpSync(assets, join(dir, assets), { recursive: true });
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
