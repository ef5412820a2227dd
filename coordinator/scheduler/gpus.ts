// GPU booking as dispatch sees it (moveToAssigned.lua decides, with the same rule): a job with `gpus` books
// that many of a client's devices that have at least `gpuMemory` MB and no other job holds, the first ones
// in the order the agent reported them. Memory is the card's total: free memory changes with every render
// and is reported for people, not booked against.

import type { GpuDevice } from "../../shared/protocol.js";

/** What a job asks of a client's GPUs. */
export interface GpuNeed {
  gpus: number;
  gpuMemory: number;
}

/** The client's devices a job of `need` could ever use. */
export function usableGpus(devices: readonly GpuDevice[], need: GpuNeed): GpuDevice[] {
  return devices.filter((d) => d.memory >= need.gpuMemory);
}

/** The device indices a job gets among the free ones, or null when too few are free. [] for no GPUs. */
export function pickGpus(
  devices: readonly GpuDevice[],
  booked: ReadonlySet<number>,
  need: GpuNeed,
): number[] | null {
  if (need.gpus <= 0) return [];
  const free = usableGpus(devices, need).filter((d) => !booked.has(d.index));
  return free.length >= need.gpus ? free.slice(0, need.gpus).map((d) => d.index) : null;
}
