// Machine figures for hello and heartbeats. node:os answers instantly; where the OS has no load average
// (Windows reports 0) the load is CPU utilisation from systeminformation's currentLoad(), sampled on a timer
// because its first call takes about half a second, scaled so N busy CPUs = N.0 like a load average.

import { cpus, freemem, loadavg, networkInterfaces, totalmem } from "node:os";
import { RepeatingProbe } from "./repeating-probe.js";

export interface MachineFacts {
  cpus: number;
  /** MHz */
  cpuSpeed: number;
  /** KB */
  memory: number;
}

export interface LoadSample {
  load: number;
  /** KB */
  freeMemory: number;
}

const UTILISATION_SAMPLE_MS = 10_000;

export function machineFacts(): MachineFacts {
  const list = cpus();
  return { cpus: list.length, cpuSpeed: list[0]?.speed ?? 0, memory: Math.round(totalmem() / 1024) };
}

/** The first non-internal IPv4 address, used when the link's own local address is not known. */
export function primaryIp(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return "127.0.0.1";
}

export class Stats {
  private utilisation: number | null = null;
  private readonly sampling = new RepeatingProbe(UTILISATION_SAMPLE_MS, async () => {
    try {
      // Loaded only here: the library is large and the other platforms never need it.
      const { currentLoad } = await import("systeminformation");
      const load = await currentLoad();
      this.utilisation = (load.currentLoad / 100) * cpus().length;
    } catch {
      this.utilisation = null;
    }
  });

  constructor(private readonly platform: NodeJS.Platform = process.platform) {}

  start(): void {
    if (this.platform === "win32") this.sampling.start();
  }

  stop(): void {
    this.sampling.stop();
  }

  sample(): LoadSample {
    const load = this.platform === "win32" ? (this.utilisation ?? 0) : (loadavg()[0] ?? 0);
    return { load: Math.round(load * 100) / 100, freeMemory: Math.round(freemem() / 1024) };
  }
}
