// The openhq version and install folder, one source for every program. The single-file agent has its
// version baked in by scripts/bundle.mjs (esbuild `define`) and is its own install folder; run from the
// sources or from dist/, the install folder is the nearest one above this file whose package.json is openhq's.

import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

declare const OPENHQ_AGENT_VERSION: string | undefined;

const here = dirname(fileURLToPath(import.meta.url));

/** The version the bundled agent was built as; null when not running from the bundle. */
const bundledVersion: string | null = typeof OPENHQ_AGENT_VERSION === "string" ? OPENHQ_AGENT_VERSION : null;

/** True when this process runs the single-file agent (which can replace its own file on upgrade). */
export const BUNDLED = bundledVersion !== null;

function findPackage(): { dir: string; version: string } | null {
  for (let dir = here; ; dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "openhq" && typeof pkg.version === "string") return { dir, version: pkg.version };
    }
    if (dirname(dir) === dir) return null;
  }
}

const found = BUNDLED ? null : findPackage();

/** The folder openhq is installed in (HQCLIENT for jobs). */
export const INSTALL_DIR: string = found?.dir ?? here;

export const VERSION: string = bundledVersion ?? found?.version ?? "0.0.0";
