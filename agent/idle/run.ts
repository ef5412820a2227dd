// Runs a small probe program and returns its stdout, or null when it is missing, fails or hangs.

import { execFile } from "node:child_process";

const PROBE_TIMEOUT_MS = 5000;

export function run(file: string, args: string[]): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { timeout: PROBE_TIMEOUT_MS, windowsHide: true, maxBuffer: 1 << 20 },
      (err, stdout) => {
        resolve(err ? null : stdout);
      },
    );
  });
}
