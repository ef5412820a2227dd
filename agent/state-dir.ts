// The agent's state folder holds what it trusts after a restart (job records with process groups to kill,
// its client credential). So it must be the agent's own: created 0700, and at start it must be a real
// folder (no symlink), owned by the agent's user, not writable by group or others. A folder that fails is
// refused (the agent exits with a message) rather than trusted; a too-open mode on our own folder is fixed.
// On Windows the folder's ACL is read (icacls): one that lets Everyone, Users or Authenticated Users write
// is refused (agent.ps1 gives it to Administrators, SYSTEM and the agent's account only).

import { execFileSync } from "node:child_process";
import { chmodSync, lstatSync, mkdirSync } from "node:fs";

export class StateDirError extends Error {}

/** Creates `dir` (0700) when missing and checks it; returns a warning when it had to tighten the mode. */
export function secureDir(dir: string): string | null {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = lstatSync(dir);
  if (stat.isSymbolicLink()) throw new StateDirError(`${dir} is a symbolic link; give a real folder`);
  if (!stat.isDirectory()) throw new StateDirError(`${dir} is not a folder`);
  if (process.platform === "win32") {
    const broad = broadWriters(execFileSync("icacls", [dir], { encoding: "utf8", timeout: 10_000 }));
    if (broad.length > 0)
      throw new StateDirError(
        `${dir} may be written by ${broad.join(", ")}; give it to Administrators, SYSTEM and the agent's account only (agent.ps1 does)`,
      );
    return null;
  }
  const uid = process.getuid?.() ?? -1;
  if (stat.uid !== uid)
    throw new StateDirError(`${dir} belongs to uid ${stat.uid}, not to this agent (uid ${uid})`);
  if ((stat.mode & 0o077) !== 0) {
    chmodSync(dir, 0o700);
    return `${dir} was mode ${(stat.mode & 0o777).toString(8)}; set to 700`;
  }
  return null;
}

/** Groups of everyone on the machine that `icacls DIR` output lets write (F, M, W, or the WD/AD/WDAC rights). */
export function broadWriters(icaclsOutput: string): string[] {
  const groups = [
    "Everyone",
    "BUILTIN\\Users",
    "NT AUTHORITY\\Authenticated Users",
    "S-1-1-0",
    "S-1-5-32-545",
    "S-1-5-11",
  ];
  const found = new Set<string>();
  for (const line of icaclsOutput.split(/\r?\n/)) {
    for (const group of groups) {
      const at = line.indexOf(`${group}:`);
      if (at < 0) continue;
      const rights = line.slice(at + group.length + 1);
      if (/\((F|M|W)\)|\([^)]*\b(WD|AD|WDAC|WO|GA|GW)\b[^)]*\)/.test(rights)) found.add(group);
    }
  }
  return [...found];
}
