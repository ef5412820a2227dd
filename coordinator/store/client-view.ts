// A client's getClients attributes, computed from its record (store/clients.ts), its assigned jobs and the
// liveness rule: one definition for the clients API and the dashboard, which reads the same values
// directly. The reference's attributes (docs/COMPAT.md §7) plus openhq's own.

import type { XmlRpcStruct, XmlRpcValue } from "../../shared/xmlrpc/types.js";
import type { Context } from "../context.js";
import { isResponding } from "../liveness.js";
import { assignedJobIds, readClients, type ClientRecord } from "./clients.js";

/** Per client, what its attributes are computed from besides its record. */
interface Seen {
  running: number[];
  /** link/liveness: the link is up and heartbeats keep coming (../liveness.ts). */
  responding: boolean;
}

type Attribute = (c: ClientRecord, seen: Seen) => XmlRpcValue;

const ATTRIBUTES: Record<string, Attribute> = {
  availabilityRules: (c) => c.availabilityRules as unknown as XmlRpcValue,
  // The agent's own say (availability rules) counts only while it answers: a gone or frozen agent takes no work.
  available: (c, seen) => c.available && seen.responding,
  cpus: (c) => c.cpus,
  cpuSpeed: (c) => c.cpuSpeed,
  description: (c) => c.description,
  disabled: (c) => c.disabled,
  groups: (c) => c.groups,
  hostname: (c) => c.hostname,
  id: (c) => c.id,
  idleTime: (c) => c.idleTime,
  ip: (c) => c.ip,
  label: (c) => c.label,
  lastHeartbeat: (c) => (c.lastHeartbeat > 0 ? new Date(c.lastHeartbeat) : null),
  latestNote: (c) => c.latestNote,
  load: (c) => c.load,
  memory: (c) => c.memory,
  name: (c) => c.name,
  needsUpgrade: (c) => c.needsUpgrade,
  // openhq extension: how the last upgradeClients() went: "", "pending", "upgraded", "failed: why".
  upgradeState: (c) => c.upgradeState,
  // "operating system and architecture", e.g. linux-x86_64.
  platform: (c) => c.arch || c.platform,
  runningJobs: (_c, seen) => seen.running,
  threadId: (c) => c.threadId,
  version: (c) => c.version,
  os: (c) => c.platform,
  arch: (c) => c.arch,
  connected: (c) => c.connected,
  // When the link went down; None while connected (or for a record from before openhq kept it).
  disconnectedSince: (c) => (c.disconnectedAt > 0 ? new Date(c.disconnectedAt) : null),
  responding: (_c, seen) => seen.responding,
  freeMemory: (c) => c.freeMemory,
  terminated: (c) => c.terminated,
  quarantined: (c) => c.quarantinedUntil > Date.now(),
  // openhq extensions: the GPUs the agent reports, one entry per device in the order of `gpuIndices`
  // (memory in MB; free memory -1 where the driver does not tell).
  gpus: (c) => c.gpuDevices.length,
  gpuIndices: (c) => c.gpuDevices.map((d) => d.index),
  gpuModels: (c) => c.gpuDevices.map((d) => d.model),
  gpuMemory: (c) => c.gpuDevices.map((d) => d.memory),
  gpuFreeMemory: (c) => c.gpuDevices.map((d) => d.freeMemory ?? -1),
};

/** Every attribute name, in the order getClients without attribs answers them. */
export const CLIENT_ATTRIBUTES: readonly string[] = Object.keys(ATTRIBUTES);

/** The clients of `ids` that exist, each with the attributes `names` (all known names: CLIENT_ATTRIBUTES). */
export async function describeClients(ctx: Context, ids: number[], names: string[]): Promise<XmlRpcStruct[]> {
  const records = (await readClients(ctx, ids)).filter((c): c is ClientRecord => c !== null);
  const wanted = names.includes("runningJobs") ? records.map((c) => c.id) : [];
  const running = await assignedJobIds(ctx, wanted);
  const now = Date.now();
  return records.map((c, i) => {
    const seen = {
      running: running[i] ?? [],
      responding: isResponding(c, now, ctx.settings.heartbeatIntervalMs),
    };
    const out: XmlRpcStruct = {};
    for (const n of names) out[n] = (ATTRIBUTES[n] as Attribute)(c, seen);
    return out;
  });
}
