// The user's idle time in minutes (-1 unknown), probed per OS on a slow timer (probes start processes, and
// idle time changes by the minute anyway) and read from the cache by each heartbeat.

import { RepeatingProbe } from "../repeating-probe.js";
import { linuxIdleMs } from "./linux.js";
import { macosIdleMs } from "./macos.js";
import { windowsIdleMs } from "./windows.js";

export const IDLE_PROBE_MS = 30_000;

export function probeIdleMs(platform: NodeJS.Platform = process.platform): Promise<number | null> {
  if (platform === "linux") return linuxIdleMs();
  if (platform === "darwin") return macosIdleMs();
  if (platform === "win32") return windowsIdleMs();
  return Promise.resolve(null);
}

export class IdleWatcher {
  private minutes = -1;
  private readonly probing: RepeatingProbe;

  constructor(probe: () => Promise<number | null> = () => probeIdleMs()) {
    this.probing = new RepeatingProbe(IDLE_PROBE_MS, async () => {
      const ms = await probe();
      this.minutes = ms === null ? -1 : Math.floor(ms / 60_000);
    });
  }

  start(): void {
    this.probing.start();
  }

  stop(): void {
    this.probing.stop();
  }

  /** Minutes without keyboard/mouse input; -1 when unknown. */
  idleMinutes(): number {
    return this.minutes;
  }
}
