// Compiles the test files and the programs they start (coordinator, agent, cli) to plain JavaScript once per
// test run, so each test process, coordinator and agent starts on plain node instead of compiling TypeScript
// through tsx each time (about a second of CPU per process; a run starts hundreds). esbuild strips the types
// file by file, as tsx does, into a fresh folder inside node_modules/ (so the programs find package.json, the
// packages and dist/install as from the sources), with the files they read at run time copied beside them.
// Source maps are inline, so a failing test's stack names the .ts lines.
//
// The programs the tests start (coordinator/main, agent/main, cli/main) are then bundled, each into one file
// with the packages it uses, over their file-by-file copies: Node 20 spends most of a program's start in its
// ESM loader, per module (a coordinator loads about 335: 172 of openhq, 61 of nodemailer, 56 of ioredis), so a
// coordinator takes 160 ms of CPU from spawn to answering `ping` instead of 370 ms (scripts/startup-cpu.mjs).
// Each bundled module keeps its own import.meta.url (its file-by-file copy's), so the files it reads beside
// itself (Lua scripts, dashboard assets) and the folders it finds by walking up are the same as unbundled.
// Their source maps are separate files (an inline one in the bundle doubles the start's CPU).
import { build } from "esbuild";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const SOURCES = ["coordinator", "agent", "shared", "cli", "scripts", "test"];
const PROGRAMS = ["coordinator/main.ts", "agent/main.ts", "cli/main.ts"];
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
  await build({
    entryPoints: PROGRAMS,
    outdir: dir,
    outbase: ".",
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    sourcemap: "linked",
    // ws loads these native speed-ups when present and works without them.
    external: ["bufferutil", "utf-8-validate"],
    // CommonJS packages (ioredis, ws, nodemailer) call require() and may read __dirname.
    banner: {
      js: [
        'import { createRequire as openhqCreateRequire } from "node:module";',
        'import { fileURLToPath as openhqFileURLToPath } from "node:url";',
        'import { dirname as openhqDirname } from "node:path";',
        "const require = openhqCreateRequire(import.meta.url);",
        "const __filename = openhqFileURLToPath(import.meta.url);",
        "const __dirname = openhqDirname(__filename);",
      ].join("\n"),
    },
    plugins: [ownImportMetaUrl(dir)],
    logLevel: "warning",
  });
  for (const assets of ASSETS) cpSync(assets, join(dir, assets), { recursive: true });
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Gives each of openhq's own modules in a bundle the import.meta.url of its file-by-file copy in `dir`. */
function ownImportMetaUrl(dir) {
  const root = resolve(".");
  return {
    name: "own-import-meta-url",
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        const path = relative(root, args.path);
        if (path.startsWith("..") || path.startsWith("node_modules")) return undefined;
        const url = pathToFileURL(resolve(dir, path.replace(/\.ts$/, ".js"))).href;
        const source = readFileSync(args.path, "utf8");
        return { contents: source.replaceAll("import.meta.url", JSON.stringify(url)), loader: "ts" };
      });
    },
  };
}
