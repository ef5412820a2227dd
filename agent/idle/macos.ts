// User idle time on macOS: IOHIDSystem's HIDIdleTime (nanoseconds since the last keyboard or mouse event).

import { run } from "./run.js";

export async function macosIdleMs(): Promise<number | null> {
  const out = await run("ioreg", ["-c", "IOHIDSystem", "-d", "4", "-k", "HIDIdleTime"]);
  const ns = out === null ? undefined : /"HIDIdleTime"\s*=\s*(\d+)/.exec(out)?.[1];
  return ns === undefined ? null : Math.floor(Number(ns) / 1e6);
}
