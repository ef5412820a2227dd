// The machine's GPUs for hello and heartbeats (GpuDevice, shared/protocol.ts). nvidia-smi answers first when
// it is on the PATH: its `index` is what CUDA_VISIBLE_DEVICES names, and it tells total and free memory; it
// is asked again on a timer so heartbeats carry free memory. Without it, systeminformation's graphics data
// (lspci, clinfo; WMI on Windows; system_profiler on macOS) is read once: the adapters of GPU vendors count
// (their memory when known, no free memory), the rest (a server's BMC display, a VM's virtual adapter, an
// integrated Intel chip) are only logged, so a blade without a render GPU never takes GPU work.

import { execFile } from "node:child_process";
import type { GpuDevice } from "../shared/protocol.js";

/** nvidia-smi's query: the index first, the name last (the only field that could hold a comma). */
const QUERY = ["--query-gpu=index,memory.total,memory.free,name", "--format=csv,noheader,nounits"];
const PROBE_TIMEOUT_MS = 10_000;
/** Free memory changes with every render: asked again this often while nvidia-smi answers. */
export const GPU_REFRESH_MS = 15_000;
/** As many as the coordinator takes (coordinator/link/gpus.ts). */
const MAX_GPUS = 64;
const MAX_MODEL = 200;
/** Adapters from systeminformation that count as GPUs: vendors whose cards the GPU renderers run on. */
const GPU_VENDORS = /nvidia|advanced micro devices|\bamd\b|\bati\b|apple/i;

/** What a probe found: the GPUs, and the adapters seen but not counted (for the log). */
export interface GpuProbe {
  devices: GpuDevice[];
  source: "nvidia-smi" | "systeminformation";
  ignored: string[];
}

function megabytes(text: string | undefined): number | null {
  const n = Number(text?.trim());
  return text !== undefined && text.trim() !== "" && Number.isFinite(n) && n >= 0 ? Math.round(n) : null;
}

/** nvidia-smi's CSV (QUERY) as devices; lines it cannot read (e.g. "[N/A]" indices) are left out. */
export function parseNvidiaSmi(csv: string): GpuDevice[] {
  const devices: GpuDevice[] = [];
  for (const line of csv.split(/\r?\n/)) {
    const parts = line.split(",");
    if (parts.length < 4) continue;
    const index = Number(parts[0]);
    if (!Number.isInteger(index) || index < 0 || devices.some((d) => d.index === index)) continue;
    devices.push({
      index,
      model: parts.slice(3).join(",").trim().slice(0, MAX_MODEL),
      memory: megabytes(parts[1]) ?? 0,
      freeMemory: megabytes(parts[2]),
    });
    if (devices.length >= MAX_GPUS) break;
  }
  return devices;
}

/** nvidia-smi's devices, or null when it is not there or fails (no driver, no GPU). */
export function queryNvidiaSmi(command = "nvidia-smi"): Promise<GpuDevice[] | null> {
  return new Promise((resolve) => {
    execFile(
      command,
      QUERY,
      { timeout: PROBE_TIMEOUT_MS, maxBuffer: 1 << 20, windowsHide: true },
      (err, stdout) => resolve(err ? null : parseNvidiaSmi(stdout)),
    );
  });
}

interface Controller {
  vendor?: string;
  model?: string;
  name?: string;
  vram?: number | null;
}

/** systeminformation's controllers as GPUs (the GPU vendors' adapters, numbered in order) and the rest. */
export function fromControllers(controllers: readonly Controller[]): {
  devices: GpuDevice[];
  ignored: string[];
} {
  const devices: GpuDevice[] = [];
  const ignored: string[] = [];
  for (const c of controllers) {
    const model = `${c.vendor ?? ""} ${c.name || c.model || ""}`.trim().slice(0, MAX_MODEL) || "unknown";
    if (!GPU_VENDORS.test(`${c.vendor ?? ""} ${c.model ?? ""}`) || devices.length >= MAX_GPUS) {
      ignored.push(model);
      continue;
    }
    const vram = typeof c.vram === "number" && Number.isFinite(c.vram) && c.vram > 0 ? Math.round(c.vram) : 0;
    devices.push({ index: devices.length, model, memory: vram, freeMemory: null });
  }
  return { devices, ignored };
}

/** The GPUs now: nvidia-smi when it answers, else systeminformation's graphics data. Never throws. */
export async function probeGpus(nvidiaSmi = "nvidia-smi"): Promise<GpuProbe> {
  const nvidia = await queryNvidiaSmi(nvidiaSmi);
  if (nvidia !== null && nvidia.length > 0) return { devices: nvidia, source: "nvidia-smi", ignored: [] };
  try {
    // Loaded only here: the library is large, and a blade with nvidia-smi never needs it.
    const { graphics } = await import("systeminformation");
    const timeout = new Promise<null>((resolve) => setTimeout(() => resolve(null), PROBE_TIMEOUT_MS).unref());
    const data = await Promise.race([graphics(), timeout]);
    return { ...fromControllers(data?.controllers ?? []), source: "systeminformation" };
  } catch {
    return { devices: [], source: "systeminformation", ignored: [] };
  }
}

/**
 * The agent's GPUs: probed once at start, then (while nvidia-smi answered) asked again every GPU_REFRESH_MS
 * for free memory. `devices` is what hello and each heartbeat send.
 */
export class GpuWatcher {
  devices: GpuDevice[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly nvidiaSmi = "nvidia-smi") {}

  async start(log: (line: string) => void): Promise<void> {
    const found = await probeGpus(this.nvidiaSmi);
    this.devices = found.devices;
    const list = found.devices.map((d) => `${d.index}: ${d.model} (${d.memory} MB)`).join(", ");
    log(`GPUs (${found.source}): ${list || "none"}`);
    if (found.ignored.length > 0) log(`graphics adapters not counted as GPUs: ${found.ignored.join(", ")}`);
    if (found.source === "nvidia-smi") this.schedule();
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      void queryNvidiaSmi(this.nvidiaSmi).then((devices) => {
        // A failed query keeps the last answer: a driver hiccup does not take the blade's GPUs away.
        if (devices !== null && devices.length > 0) this.devices = devices;
        if (this.timer !== null) this.schedule();
      });
    }, GPU_REFRESH_MS);
    this.timer.unref();
  }
}
