// upgradeClients(), for the single-file agent: once its jobs are done the agent fetches the coordinator's
// current build (GET /install/openhq-agent.mjs and its .sha256, the same files the installers use), checks the
// digest, and renames it over its own file; then it exits with UPGRADE_EXIT_CODE and its service manager (or
// the installer's bin/openhq-agent-loop) starts the new code. Run from dist/ or the sources there is no file
// of its own to replace: the agent just exits for a restart, as an install made with deploy/install.sh expects.

import { createHash } from "node:crypto";
import { chmodSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { BUNDLED } from "../shared/version.js";
import type { Logger } from "./log.js";

export const ARTIFACT_NAME = "openhq-agent.mjs";
/** Bounds on what the coordinator may send back: the agent is about 1 MB. */
const MAX_ARTIFACT_BYTES = 64 << 20;
const DOWNLOAD_TIMEOUT_MS = 120_000;

export interface UpgradeSource {
  /** The coordinator's HTTP base, e.g. "http://farm:5000". */
  baseUrl: string;
  /** The farm secret; sent as the Basic auth password, which the install endpoints accept. */
  token: string | null;
}

/** The coordinator's HTTP base URL from the agent's settings (IPv6 literals bracketed). */
export function coordinatorBaseUrl(server: string, port: number): string {
  const host = server.includes(":") && !server.startsWith("[") ? `[${server}]` : server;
  return `http://${host}:${port}`;
}

/** The running bundle's own file, or null when this agent does not run from the bundle. */
export function ownArtifact(): string | null {
  return BUNDLED ? fileURLToPath(import.meta.url) : null;
}

async function download(source: UpgradeSource, name: string): Promise<Buffer> {
  const headers: Record<string, string> = {};
  if (source.token !== null) {
    headers["authorization"] = `Basic ${Buffer.from(`openhq-agent:${source.token}`).toString("base64")}`;
  }
  const response = await fetch(`${source.baseUrl}/install/${name}`, {
    headers,
    signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS),
  });
  if (!response.ok) throw new Error(`GET /install/${name}: HTTP ${response.status}`);
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (declared > MAX_ARTIFACT_BYTES) throw new Error(`/install/${name} is too large (${declared} bytes)`);
  const body = Buffer.from(await response.arrayBuffer());
  if (body.length > MAX_ARTIFACT_BYTES) throw new Error(`/install/${name} is too large`);
  return body;
}

/**
 * Replaces `file` with the coordinator's build when it differs. Returns what happened, for the log; throws
 * when the download or the check fails (the old file is then left as it was).
 */
export async function fetchUpgrade(source: UpgradeSource, file: string): Promise<string> {
  const digestLine = (await download(source, `${ARTIFACT_NAME}.sha256`)).toString("utf8");
  const expected = /^([0-9a-f]{64})\b/i.exec(digestLine.trim())?.[1]?.toLowerCase();
  if (expected === undefined) throw new Error(`/install/${ARTIFACT_NAME}.sha256 holds no sha256 digest`);
  const body = await download(source, ARTIFACT_NAME);
  const actual = createHash("sha256").update(body).digest("hex");
  if (actual !== expected) throw new Error(`downloaded agent has sha256 ${actual}, expected ${expected}`);
  // Written beside the old file and renamed over it, so a crash leaves either the old or the new agent.
  const temporary = `${file}.new-${process.pid}`;
  try {
    writeFileSync(temporary, body, { flush: true });
    chmodSync(temporary, statSync(file).mode & 0o777);
    renameSync(temporary, file);
  } finally {
    rmSync(temporary, { force: true });
  }
  return `installed the coordinator's agent (sha256 ${actual.slice(0, 12)}) over ${file}`;
}

/** The upgrade step before the agent exits with UPGRADE_EXIT_CODE; never throws (a failure is logged). */
export async function upgradeSelf(source: UpgradeSource, log: Logger): Promise<void> {
  const file = ownArtifact();
  if (file === null) {
    log.info("upgrade: not running from the single-file agent; restarting on the installed code");
    return;
  }
  try {
    log.info(`upgrade: ${await fetchUpgrade(source, file)}`);
  } catch (err) {
    log.error(`upgrade failed, restarting on the current code: ${(err as Error).message}`);
  }
}
