// Compiles the programs to dist/ (run by `npm ci` through `prepare`) and copies the non-TypeScript files
// they read at run time (Lua scripts, dashboard assets) beside the compiled code; then bundles the agent
// into one file for installing on render nodes (scripts/bundle.mjs, dist/install/).
import { execFileSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { buildInstallDir, packageVersion } from "./bundle.mjs";

const require = createRequire(import.meta.url);
rmSync("dist", { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.build.json"], {
  stdio: "inherit",
});
for (const dir of ["coordinator/store/lua", "coordinator/web/static"]) {
  if (existsSync(dir)) cpSync(dir, `dist/${dir}`, { recursive: true });
}
// The package's bin entries must be executable where npm does not link them (a clone after `npm ci`).
const { bin } = JSON.parse(readFileSync("package.json", "utf8"));
for (const file of Object.values(bin)) chmodSync(file, 0o755);
await buildInstallDir("dist/install", packageVersion());
