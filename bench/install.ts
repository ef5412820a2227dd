// `npm run bench -- install`: the size of an agent installed by /install/agent.sh (everything it puts under
// its prefix: the single-file agent, bin/openhq-agent, bin/openhq-agent-loop, hqnode.ini), beside Node
// itself; and how long the bundle takes to build and the installer to run. The /install folder is built
// fresh (scripts/bundle.mjs) so the figure is the current code's.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BenchResult } from "./types.js";

const root = join(import.meta.dirname, "..");
const MB = 1024 * 1024;

function bytesUnder(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, name) => sum + bytesUnder(join(path, name)), 0);
}

export async function run(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), "openhq-bench-install-"));
  try {
    const served = join(dir, "served");
    const prefix = join(dir, "prefix");
    let started = performance.now();
    execFileSync(process.execPath, [join(root, "scripts/bundle.mjs"), served], { stdio: "pipe" });
    const buildMs = performance.now() - started;
    started = performance.now();
    execFileSync(
      "sh",
      [
        join(root, "deploy/install/agent.sh"),
        ...["--from", served, "--url", "http://farm:5000", "--prefix", prefix, "--no-service", "--no-start"],
      ],
      { stdio: "pipe" },
    );
    const installMs = performance.now() - started;
    const installed = bytesUnder(prefix);
    return [
      {
        name: "installed agent (without Node)",
        value: Number((installed / MB).toFixed(2)),
        unit: "MB",
        target: "<= 10 MB",
        ok: installed <= 10 * MB,
        note: "deploy/install.sh used to copy a 102 MB node_modules",
      },
      { name: "agent bundle build (esbuild)", value: Math.round(buildMs), unit: "ms" },
      { name: "agent.sh install from a local folder", value: Math.round(installMs), unit: "ms" },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
