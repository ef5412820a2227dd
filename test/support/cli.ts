// Runs `openhq` (the CLI) or a shell script as a person's terminal would: the exit code and the whole output.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { programArgs } from "./programs.js";

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `file` with `args` and `env` over the test's own environment; `onStdout` sees the output so far. */
export function runCommand(
  file: string,
  args: string[],
  env: Record<string, string>,
  onStdout?: (text: string) => void,
): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      onStdout?.(stdout);
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** `openhq args…` with HQSERVER = `server`. */
export function openhq(server: string, args: string[], onStdout?: (text: string) => void): Promise<Run> {
  return runCommand(process.execPath, [...programArgs("cli"), ...args], { HQSERVER: server }, onStdout);
}

/** The command line that starts `openhq` in a bash script (its words quoted). */
export function openhqCommandLine(): string {
  return [process.execPath, ...programArgs("cli")].map((word) => `"${word}"`).join(" ");
}

/** A job spec written to a JSON file of its own (for `openhq submit FILE`), removed when the test ends. */
export function specFile(t: TestContext, spec: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), "openhq-cli-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "spec.json");
  writeFileSync(file, JSON.stringify(spec));
  return file;
}
