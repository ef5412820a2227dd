// The agent's state folder holds what it trusts after a restart (job records with process groups to kill,
// its client credential). So it must be the agent's own: created 0700, and at start it must be a real
// folder (no symlink), owned by the agent's user, not writable by group or others. A folder that fails is
// refused (the agent exits with a message) rather than trusted; a too-open mode on our own folder is fixed.

import { chmodSync, lstatSync, mkdirSync } from "node:fs";

export class StateDirError extends Error {}

/** Creates `dir` (0700) when missing and checks it; returns a warning when it had to tighten the mode. */
export function secureDir(dir: string): string | null {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = lstatSync(dir);
  if (stat.isSymbolicLink()) throw new StateDirError(`${dir} is a symbolic link; give a real folder`);
  if (!stat.isDirectory()) throw new StateDirError(`${dir} is not a folder`);
  if (process.platform === "win32") return null;
  const uid = process.getuid?.() ?? -1;
  if (stat.uid !== uid)
    throw new StateDirError(`${dir} belongs to uid ${stat.uid}, not to this agent (uid ${uid})`);
  if ((stat.mode & 0o077) !== 0) {
    chmodSync(dir, 0o700);
    return `${dir} was mode ${(stat.mode & 0o777).toString(8)}; set to 700`;
  }
  return null;
}
