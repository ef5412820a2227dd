// How a test starts one of openhq's programs: from the run's compiled copy when scripts/test.mjs runs the
// file (scripts/test-build.mjs; OPENHQ_TEST_PROGRAMS names the folder), else from the sources through tsx.

import { resolve } from "node:path";

export type Program = "coordinator" | "agent" | "cli";

/** The node arguments that run `program`'s main module (then its own arguments follow). */
export function programArgs(program: Program): string[] {
  return moduleArgs(`${program}/main`);
}

/** The node arguments that run the repository's module `path` (no extension, e.g. "scripts/chaos"). */
export function moduleArgs(path: string): string[] {
  const built = process.env["OPENHQ_TEST_PROGRAMS"];
  return built ? [resolve(built, `${path}.js`)] : ["--import", "tsx", `${path}.ts`];
}
