// Who may join the farm as an agent. Two secrets:
//   - the farm secret (openhq.farmSecret): every agent presents it in `hello`. When none is configured the
//     first coordinator to start makes one and keeps it in Redis ({p}farm:secret, SET NX), so every
//     coordinator on that Redis agrees on it; anyone who can read that Redis owns the farm anyway.
//   - a per-client credential: the first hello of a client name (hostname[:name]) gets a random one in
//     `welcome`; the agent keeps it in its state folder and presents it on every reconnect. Redis stores only
//     its sha256 ({p}client:{id} field `credential`), so another machine holding the farm secret still cannot
//     take over an enrolled name (and the jobs assigned to it) while its agent is live. An agent that comes
//     with the farm secret but no credential at all (a re-imaged blade, a wiped state folder) enrolls the
//     name again once its old agent has been silent for two heartbeats, but only from the address of the
//     name's last registration (studios re-image blades under the same hostname and address) or from the
//     address an admin approved (approveClient): anyone else holding the farm secret is refused, and the
//     request kept for an admin, so a squatter never takes a silent blade's name and the real blade, still
//     holding its credential, is never locked out. A wrong credential is always refused. `revokeClient`
//     sets `revoked` and drops the credential: that name is refused until the client record is deleted
//     (`removeClients`, link/removal.ts). Removal keeps the removed agent's credential refused
//     ({p}clients:removed); a machine without one enrols under the same name as a new client.

import { randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { HelloMessage } from "../../shared/protocol.js";
import { sha256 } from "../../shared/basic-auth.js";
import type { Context } from "../context.js";
import { clientLabel } from "../store/clients.js";
import { farmSecretMatches, ownCredentialAdmits } from "./farm-secret.js";
import { gpusProblem } from "./gpus.js";
import {
  claimFarmSecret,
  dropCredential,
  dropPendingEnrollment,
  enrollmentOf,
  recordPendingEnrollment,
  removedCredentialOf,
  storeCredential,
} from "../store/credentials.js";

/** Largest CPU count an agent may claim: a bound, so one claim cannot swallow the whole queue unnoticed. */
export const MAX_AGENT_CPUS = 4096;
const MAX_TEXT = 255;

/**
 * The farm secret: the configured one, else the one in Redis, else a new one stored there. `generated` is
 * true for the process that created it (it prints it once). Also written to `<dataDir>/farm-secret` (0600)
 * when not configured, so `npm start` hands it to its local agent.
 */
export async function resolveFarmSecret(
  store: Pick<Context, "redis" | "keys">,
  configured: string | null,
  dataDir: string,
): Promise<{ secret: string; generated: boolean }> {
  if (configured !== null) return { secret: configured, generated: false };
  const fresh = randomBytes(24).toString("base64url");
  const { secret, created } = await claimFarmSecret(store, fresh);
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const file = join(dataDir, "farm-secret");
    writeFileSync(file, `${secret}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  } catch {
    // A read-only data folder: the secret is still in Redis and in the log line printed at creation.
  }
  return { secret, generated: created };
}

/** Why a hello is malformed, or null: every field the coordinator stores has a type and a bound. */
export function helloProblem(msg: HelloMessage): string | null {
  const text = (v: unknown) => typeof v === "string" && v.length <= MAX_TEXT;
  if (!text(msg.hostname) || msg.hostname === "") return "bad hostname";
  if (!text(msg.name) || !text(msg.version) || !text(msg.platform) || !text(msg.arch) || !text(msg.ip))
    return "bad name, version, platform, arch or ip";
  if (
    msg.upgradeError !== undefined &&
    (typeof msg.upgradeError !== "string" || msg.upgradeError.length > 500)
  )
    return "bad upgradeError";
  if (!Number.isInteger(msg.cpus) || msg.cpus < 1 || msg.cpus > MAX_AGENT_CPUS)
    return `cpus must be an integer from 1 to ${MAX_AGENT_CPUS}`;
  for (const n of [msg.cpuSpeed, msg.memory])
    if (typeof n !== "number" || !Number.isFinite(n) || n < 0 || n > 2 ** 53) return "bad cpuSpeed or memory";
  if (!Number.isInteger(msg.clientPort) || msg.clientPort < 0 || msg.clientPort > 65535)
    return "bad clientPort";
  if (!Array.isArray(msg.availabilityRules) || msg.availabilityRules.length > 100)
    return "bad availabilityRules";
  const gpus = gpusProblem(msg.gpus);
  if (gpus !== null) return gpus;
  for (const list of [msg.running, msg.lost])
    if (
      list !== undefined &&
      (!Array.isArray(list) ||
        list.length > 10_000 ||
        !list.every(
          (r) =>
            typeof r === "object" &&
            r !== null &&
            Number.isSafeInteger(r.jobId) &&
            Number.isSafeInteger(r.attempt),
        ))
    )
      return "bad running or lost list";
  return null;
}

export type Admission = { ok: true; enrolled: boolean } | { ok: false; reason: string };

/**
 * Checks the farm secret and, for a name already enrolled, the client's credential. `address` is the link's
 * remote address. Call before registerClient; then enroll() when `enrolled` is false.
 */
export async function admit(ctx: Context, msg: HelloMessage, address: string): Promise<Admission> {
  if (!(await farmSecretMatches(ctx, msg.token))) {
    // After rotateFarmSecret an enrolled agent still holds the old secret: its own credential admits it.
    if (await ownCredentialAdmits(ctx, msg)) return { ok: true, enrolled: true };
    return {
      ok: false,
      reason: msg.token ? "wrong agent token (farm secret)" : "agent token required (the farm secret)",
    };
  }
  const label = clientLabel(msg.hostname, msg.name);
  const given = msg.credential;
  const client = await enrollmentOf(ctx, label);
  if (client === null) {
    const removed = typeof given === "string" ? await removedCredentialOf(ctx, label) : null;
    if (removed !== null && matches(given, removed))
      return {
        ok: false,
        reason: `this machine (${label}) was removed from the farm; to add it again as a new machine, delete credential.json in the agent's state folder and restart the agent`,
      };
    return { ok: true, enrolled: false };
  }
  const { id, digest } = client;
  if (client.revoked)
    return { ok: false, reason: `client ${id} is revoked (\`openhq remove ${id}\` frees the name)` };
  if (digest === null) return { ok: true, enrolled: false };
  const live = client.connected && Date.now() - client.lastHeartbeat < 2 * ctx.settings.heartbeatIntervalMs;
  if (given === undefined && !live) {
    const known = address !== "" && (address === client.address || address === client.approvedAddress);
    if (known) {
      await dropCredential(ctx, id);
      return { ok: true, enrolled: false };
    }
    await recordPendingEnrollment(ctx, id, { address, time: Date.now() });
    return {
      ok: false,
      reason: `client ${id} is enrolled from another address and asks to enroll again from ${address}: an admin approves it with \`openhq approve ${id}\` (approveClient)`,
    };
  }
  if (given === undefined)
    return {
      ok: false,
      reason: `client ${id} (${label}) is still live and this agent has no credential for it (a new coordinator URL, or a wiped state folder): it enrols again once the old link has been silent for two heartbeats`,
    };
  if (!matches(given, digest))
    return {
      ok: false,
      reason: `wrong client credential for client ${id} (that name is enrolled by another agent; if this is a new machine under that name, remove the old one: \`openhq remove ${id}\`)`,
    };
  // The name's own agent is back: a request from elsewhere waiting for approval was not the blade's.
  await dropPendingEnrollment(ctx, id);
  return { ok: true, enrolled: true };
}

/** Whether a credential someone presents is the one whose sha256 (hex) is stored, in constant time. */
function matches(given: unknown, digest: string): boolean {
  return typeof given === "string" && timingSafeEqual(sha256(given), Buffer.from(digest, "hex"));
}

/** Gives client `id` its credential: returns it, or null when another coordinator enrolled it meanwhile. */
export async function enroll(ctx: Context, id: number): Promise<string | null> {
  const credential = randomBytes(32).toString("base64url");
  return (await storeCredential(ctx, id, sha256(credential).toString("hex"))) ? credential : null;
}

/** A URL without its user name and password (what jobs and agents may see of openhq.serverUrl). */
export function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username === "" && parsed.password === "") return url;
    parsed.username = "";
    parsed.password = "";
    return parsed.toString().replace(/\/$/, url.endsWith("/") ? "/" : "");
  } catch {
    return url.replace(/\/\/[^/@]*@/, "//");
  }
}
