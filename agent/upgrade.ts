// upgradeClients(), for the single-file agent: once its jobs are done the agent fetches the coordinator's
// current build (GET /install/openhq-agent.mjs and its signature .sig, the files the installers use) over
// its own link's scheme and CA, checks the ed25519 signature against the farm key pinned at install
// (`signingKey` in hqnode.ini, coordinator/web/artifact-signing.ts), and renames the file over its own;
// then it exits with UPGRADE_EXIT_CODE and its service manager (or the installer's bin/openhq-agent-loop)
// starts the new code. Whoever sits on the path cannot make it run their file: without the farm's private
// key there is no valid signature, and a digest fetched over the same channel would prove nothing. Run from
// dist/ or the sources there is no file of its own to replace: the agent just exits for a restart, as an
// install made with deploy/install.sh expects.

import { createHash, createPublicKey, verify, type KeyObject } from "node:crypto";
import { chmodSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BUNDLED } from "../shared/version.js";
import type { AgentConfig } from "./config.js";
import type { Logger } from "./log.js";

export const ARTIFACT_NAME = "openhq-agent.mjs";
/** Bounds on what the coordinator may send back: the agent is about 1 MB, a signature 88 characters. */
const MAX_ARTIFACT_BYTES = 64 << 20;
const MAX_SIGNATURE_BYTES = 4096;
const DOWNLOAD_TIMEOUT_MS = 120_000;

export interface UpgradeSource {
  /** The coordinator's base URL in the agent's own scheme, e.g. "https://farm:5000". */
  baseUrl: string;
  /** PEM CA(s) for an https:// coordinator (the agent's caFile); undefined = the system's. */
  ca?: string;
  /** The farm secret; sent as the Basic auth password, which the install endpoints accept. */
  token: string | null;
  /** The farm's public key pinned at install (base64 SPKI DER), or null when none is pinned. */
  signingKey: string | null;
}

/** The coordinator's base URL in the agent's scheme (IPv6 literals bracketed). */
export function coordinatorBaseUrl(server: string, port: number, tls: boolean): string {
  const host = server.includes(":") && !server.startsWith("[") ? `[${server}]` : server;
  return `${tls ? "https" : "http"}://${host}:${port}`;
}

/** Where and how this agent fetches upgrades: the link's own scheme and CA, the pinned key. */
export function upgradeSource(config: AgentConfig): UpgradeSource {
  return {
    baseUrl: coordinatorBaseUrl(config.server, config.serverPort, config.tls),
    ...(config.caFile === null ? {} : { ca: readFileSync(config.caFile, "utf8") }),
    token: config.farmSecret,
    signingKey: config.signingKey,
  };
}

/** The running bundle's own file, or null when this agent does not run from the bundle. */
export function ownArtifact(): string | null {
  return BUNDLED ? fileURLToPath(import.meta.url) : null;
}

/** The pinned key, or why there is none usable. */
function pinnedKey(source: UpgradeSource): KeyObject {
  if (source.signingKey === null)
    throw new Error(
      "no signingKey is pinned in hqnode.ini, so no upgrade can be checked: run the install line again",
    );
  try {
    return createPublicKey({ key: Buffer.from(source.signingKey, "base64"), format: "der", type: "spki" });
  } catch {
    throw new Error("the signingKey in hqnode.ini is no public key (base64 SPKI DER)");
  }
}

/** GET /install/<name> with the agent's scheme and CA; no redirects (a 3xx is an error); at most `limit` bytes. */
function download(source: UpgradeSource, name: string, limit: number): Promise<Buffer> {
  const url = new URL(`${source.baseUrl}/install/${name}`);
  const headers: Record<string, string> = {};
  if (source.token !== null)
    headers["authorization"] = `Basic ${Buffer.from(`openhq-agent:${source.token}`).toString("base64")}`;
  const https = url.protocol === "https:";
  return new Promise((resolve, reject) => {
    const onResponse = (response: IncomingMessage): void => {
      if (response.statusCode !== 200) {
        response.resume();
        reject(new Error(`GET ${url.href}: HTTP ${response.statusCode}`));
        return;
      }
      const chunks: Buffer[] = [];
      let bytes = 0;
      response.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > limit) {
          request.destroy(new Error(`${url.href} is larger than ${limit} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      response.once("end", () => resolve(Buffer.concat(chunks)));
      response.once("error", reject);
    };
    const options = { headers, timeout: DOWNLOAD_TIMEOUT_MS };
    const request = https
      ? httpsRequest(url, { ...options, ...(source.ca === undefined ? {} : { ca: source.ca }) }, onResponse)
      : httpRequest(url, options, onResponse);
    request.once("timeout", () => request.destroy(new Error(`GET ${url.href}: no answer in time`)));
    request.once("error", (err) => reject(new Error(`GET ${url.href}: ${err.message}`)));
    request.end();
  });
}

/**
 * Replaces `file` with the coordinator's build when its signature holds. Returns what happened, for the log;
 * throws when the download or the check fails (the old file is then left as it was).
 */
export async function fetchUpgrade(source: UpgradeSource, file: string): Promise<string> {
  const key = pinnedKey(source);
  const signature = Buffer.from(
    (await download(source, `${ARTIFACT_NAME}.sig`, MAX_SIGNATURE_BYTES)).toString("utf8").trim(),
    "base64",
  );
  const body = await download(source, ARTIFACT_NAME, MAX_ARTIFACT_BYTES);
  if (!verify(null, body, key, signature))
    throw new Error("the downloaded agent is not signed by the farm's key pinned in hqnode.ini: refused");
  const digest = createHash("sha256").update(body).digest("hex");
  // Written beside the old file and renamed over it, so a crash leaves either the old or the new agent.
  const temporary = `${file}.new-${process.pid}`;
  try {
    writeFileSync(temporary, body, { flush: true });
    chmodSync(temporary, statSync(file).mode & 0o777);
    renameSync(temporary, file);
  } finally {
    rmSync(temporary, { force: true });
  }
  return `installed the coordinator's signed agent (sha256 ${digest.slice(0, 12)}) over ${file}`;
}

/** Where a failed upgrade's reason waits for the next hello (the coordinator shows it as the upgrade state). */
const FAILURE_FILE = "upgrade-failed";
const MAX_FAILURE_CHARS = 500;

/** Why the last upgrade failed, or undefined; told in the next hello, then forgotten (forgetUpgradeFailure). */
export function upgradeFailure(stateDir: string): string | undefined {
  try {
    return readFileSync(join(stateDir, FAILURE_FILE), "utf8").slice(0, MAX_FAILURE_CHARS) || undefined;
  } catch {
    return undefined;
  }
}

export function forgetUpgradeFailure(stateDir: string): void {
  rmSync(join(stateDir, FAILURE_FILE), { force: true });
}

/** The upgrade step before the agent exits with UPGRADE_EXIT_CODE; never throws (a failure is logged and kept). */
export async function upgradeSelf(source: UpgradeSource, log: Logger, stateDir: string): Promise<void> {
  forgetUpgradeFailure(stateDir);
  const file = ownArtifact();
  if (file === null) {
    log.info("upgrade: not running from the single-file agent; restarting on the installed code");
    return;
  }
  try {
    log.info(`upgrade: ${await fetchUpgrade(source, file)}`);
  } catch (err) {
    const reason = (err as Error).message;
    log.error(`upgrade failed, restarting on the current code: ${reason}`);
    writeFileSync(join(stateDir, FAILURE_FILE), reason.slice(0, MAX_FAILURE_CHARS), { mode: 0o600 });
  }
}
