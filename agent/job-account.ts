// The account jobs run as (`jobUser` in hqnode.ini), kept apart from the agent's own: a job must not read
// the agent's token and credential, rewrite its code or signal it (docs/SECURITY.md, "Agent and jobs apart").
// The agent runs as root (the installers' services) and starts each job command as the job user: on Linux
// through util-linux `setpriv` (the user's supplementary groups too, which render jobs need for project
// shares), elsewhere, or without setpriv, through Node's uid/gid (primary group only). Going from root to
// another uid clears every capability, so a job keeps none of the agent's. An agent running as root never
// runs jobs as root unless told so (`jobUser = root`).

import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";

export class JobAccountError extends Error {}

export interface JobAccount {
  name: string;
  uid: number;
  gid: number;
  /** The job's working directory when the agent switches to it: its home folder ("/" when it has none). */
  home: string;
  /** Whether the agent must switch to the account (it is not the agent's own). */
  switchUser: boolean;
  /** setpriv (Linux) to switch with, groups and all; null: Node's uid/gid. */
  setpriv: string | null;
}

const SETPRIV_PATHS = ["/usr/bin/setpriv", "/bin/setpriv", "/usr/sbin/setpriv", "/sbin/setpriv"];

/**
 * The job account from the `jobUser` setting, or null when jobs run as the agent's own user (an agent not
 * running as root, with no jobUser). Throws JobAccountError for a setting the agent cannot honour.
 */
export function resolveJobAccount(
  jobUser: string | null,
  platform: NodeJS.Platform = process.platform,
): JobAccount | null {
  if (platform === "win32") {
    if (jobUser !== null)
      throw new JobAccountError(
        "jobUser is for Linux and macOS; on Windows jobs run as the agent's task account (agent.ps1 -User)",
      );
    return null;
  }
  const agentUid = process.getuid?.() ?? -1;
  if (jobUser === null) {
    if (agentUid === 0)
      throw new JobAccountError(
        "the agent runs as root: give jobUser (hqnode.ini, --job-user, OPENHQ_JOB_USER), the account jobs run as; jobUser = root runs them as root",
      );
    return null;
  }
  const entry = passwdEntry(jobUser);
  if (entry === null) throw new JobAccountError(`jobUser ${jobUser}: no such user`);
  const { uid, gid, home } = entry;
  const switchUser = uid !== agentUid;
  if (switchUser && agentUid !== 0)
    throw new JobAccountError(
      `jobUser ${jobUser} (uid ${uid}) needs the agent to run as root; it runs as uid ${agentUid}`,
    );
  return {
    name: jobUser,
    uid,
    gid,
    home: home !== "" && existsSync(home) ? home : "/",
    switchUser,
    setpriv: platform === "linux" ? (SETPRIV_PATHS.find((path) => existsSync(path)) ?? null) : null,
  };
}

/** The passwd entry of `name` (NSS through getent where present, else /etc/passwd). */
function passwdEntry(name: string): { uid: number; gid: number; home: string } | null {
  if (!/^[A-Za-z0-9._][A-Za-z0-9._-]*\$?$/.test(name) || name.length > 64) return null;
  let line: string | undefined;
  try {
    line = execFileSync("getent", ["passwd", name], { encoding: "utf8", timeout: 10_000 }).split("\n")[0];
  } catch {
    try {
      line = readFileSync("/etc/passwd", "utf8")
        .split("\n")
        .find((l) => l.startsWith(`${name}:`));
    } catch {
      return null;
    }
  }
  const fields = line?.split(":") ?? [];
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  if (fields[0] !== name || !Number.isInteger(uid) || !Number.isInteger(gid)) return null;
  return { uid, gid, home: fields[5] ?? "" };
}

/** What the job's environment says about who it is, as a login would set it. */
export function accountEnvironment(account: JobAccount): Record<string, string> {
  return { HOME: account.home, USER: account.name, LOGNAME: account.name };
}
