// User idle time on Linux. In order: X11's XScreenSaver counter through `xprintidle` (when a display is
// set); logind's per-session IdleHint/IdleSinceHint through `loginctl`; a machine with no user session at
// all counts as idle since boot (logind's session list, or utmp through `who` where logind is absent).

import { uptime } from "node:os";
import { run } from "./run.js";

export async function linuxIdleMs(env: NodeJS.ProcessEnv = process.env): Promise<number | null> {
  if (env["DISPLAY"]) {
    const out = await run("xprintidle", []);
    const ms = out === null ? NaN : Number(out.trim());
    if (Number.isFinite(ms)) return ms;
  }
  return logindIdleMs();
}

async function logindIdleMs(): Promise<number | null> {
  const list = await run("loginctl", ["list-sessions", "--no-legend"]);
  if (list === null) return utmpIdleMs(); // no logind here
  const ids = list
    .split("\n")
    .map((line) => line.trim().split(/\s+/)[0] ?? "")
    .filter((id) => id !== "");
  let idleSince = 0;
  let userSessions = 0;
  for (const id of ids) {
    const props = await run("loginctl", [
      "show-session",
      id,
      "-p",
      "Class",
      "-p",
      "IdleHint",
      "-p",
      "IdleSinceHint",
    ]);
    if (props === null) continue;
    const value = (key: string): string => props.match(new RegExp(`^${key}=(.*)$`, "m"))?.[1] ?? "";
    if (value("Class") !== "user") continue;
    userSessions++;
    // A session that is not idle means someone is at the machine now.
    if (value("IdleHint") !== "yes") return 0;
    // IdleSinceHint is microseconds since the epoch.
    idleSince = Math.max(idleSince, Number(value("IdleSinceHint")) / 1000 || 0);
  }
  if (userSessions === 0) return uptime() * 1000;
  return idleSince > 0 ? Math.max(0, Date.now() - idleSince) : null;
}

/** Without logind: nobody in utmp means no user session, so idle since boot; someone logged in = unknown. */
async function utmpIdleMs(): Promise<number | null> {
  const who = await run("who", []);
  if (who === null) return null;
  return who.trim() === "" ? uptime() * 1000 : null;
}
