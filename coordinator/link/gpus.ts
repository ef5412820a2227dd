// The GPUs an agent reports in hello and heartbeats (GpuDevice, shared/protocol.ts) are untrusted input: a
// bounded list, each field typed and bounded, indices distinct, before anything is stored.

import type { GpuDevice } from "../../shared/protocol.js";

export const MAX_AGENT_GPUS = 64;
/** Device indices as drivers number them; beyond this is not a real machine. */
const MAX_GPU_INDEX = 1023;
/** MB per device: 1 TiB, far beyond any card. */
export const MAX_GPU_MEMORY_MB = 1_048_576;
const MAX_MODEL = 200;

function megabytes(n: unknown): boolean {
  return typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= MAX_GPU_MEMORY_MB;
}

/** Why a reported GPU list is malformed, or null (absent counts as none). */
export function gpusProblem(list: unknown): string | null {
  if (list === undefined) return null;
  if (!Array.isArray(list) || list.length > MAX_AGENT_GPUS)
    return `gpus must be a list of at most ${MAX_AGENT_GPUS}`;
  const seen = new Set<number>();
  for (const item of list as unknown[]) {
    if (typeof item !== "object" || item === null) return "bad gpus entry";
    const d = item as Partial<Record<keyof GpuDevice, unknown>>;
    if (typeof d.index !== "number" || !Number.isInteger(d.index) || d.index < 0 || d.index > MAX_GPU_INDEX)
      return `gpu index must be an integer from 0 to ${MAX_GPU_INDEX}`;
    if (seen.has(d.index)) return `gpu index ${d.index} twice`;
    seen.add(d.index);
    if (typeof d.model !== "string" || d.model.length > MAX_MODEL) return "bad gpu model";
    if (!megabytes(d.memory) || (d.freeMemory !== null && !megabytes(d.freeMemory)))
      return `gpu memory and freeMemory must be whole MB from 0 to ${MAX_GPU_MEMORY_MB}`;
  }
  return null;
}
