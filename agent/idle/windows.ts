// User idle time on Windows: GetLastInputInfo. It only sees input of the session it runs in, and a service
// runs in session 0, so the number must come from a helper in the user's session: deploy/idle-helper.ps1,
// started at logon (Task Scheduler, "run only when user is logged on"), writes the idle milliseconds to
// %ProgramData%\openhq\idle.txt every 15 s. The agent reads that file while it is fresh; without it (agent
// started by hand in the user's session) it asks PowerShell directly.

import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { run } from "./run.js";

const FRESH_MS = 60_000;

export const GET_LAST_INPUT_SCRIPT = `
Add-Type @'
using System; using System.Runtime.InteropServices;
public static class OpenHqIdle {
  [StructLayout(LayoutKind.Sequential)] struct LASTINPUTINFO { public uint cbSize; public uint dwTime; }
  [DllImport("user32.dll")] static extern bool GetLastInputInfo(ref LASTINPUTINFO info);
  public static long Ms() {
    var info = new LASTINPUTINFO(); info.cbSize = (uint)Marshal.SizeOf(info);
    if (!GetLastInputInfo(ref info)) return -1;
    return (long)(uint)(Environment.TickCount - (int)info.dwTime);
  }
}
'@
[OpenHqIdle]::Ms()
`;

export async function windowsIdleMs(env: NodeJS.ProcessEnv = process.env): Promise<number | null> {
  const file = join(env["ProgramData"] ?? "C:\\ProgramData", "openhq", "idle.txt");
  try {
    if (Date.now() - statSync(file).mtimeMs < FRESH_MS) {
      const ms = Number(readFileSync(file, "utf8").trim());
      if (Number.isFinite(ms) && ms >= 0) return ms;
    }
  } catch {
    // no helper running: fall through
  }
  const out = await run("powershell.exe", [
    "-NoProfile",
    "-NonInteractive",
    "-Command",
    GET_LAST_INPUT_SCRIPT,
  ]);
  const ms = out === null ? NaN : Number(out.trim());
  return Number.isFinite(ms) && ms >= 0 ? ms : null;
}
