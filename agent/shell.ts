// Which program runs a job's command text: the job's `shell` (docs/COMPAT.md §2), or this OS's default.

import { basename } from "node:path";

export interface ShellCommand {
  file: string;
  args: string[];
}

export type ShellChoice = { ok: true; command: ShellCommand } | { ok: false; message: string };

const POSIX_SHELLS = ["bash", "sh", "zsh", "csh", "tcsh", "dash", "ksh"];
const WINDOWS_SHELLS = ["cmd", "powershell", "pwsh"];

export function defaultShell(platform: NodeJS.Platform): string {
  return platform === "win32" ? "cmd" : "bash";
}

/** The argv that runs `text` under `shell` on `platform`; an unknown shell is a clear message instead. */
export function shellCommand(shell: string | null, text: string, platform: NodeJS.Platform): ShellChoice {
  const requested = shell === null || shell.trim() === "" ? defaultShell(platform) : shell.trim();
  // "/bin/zsh" or "powershell.exe" name the same shells as "zsh" and "powershell".
  const name = basename(requested.replace(/\\/g, "/"))
    .replace(/\.exe$/i, "")
    .toLowerCase();
  const file = requested.includes("/") || requested.includes("\\") ? requested : name;
  const known = platform === "win32" ? WINDOWS_SHELLS : [...POSIX_SHELLS, "pwsh"];
  if (!known.includes(name)) {
    return {
      ok: false,
      message: `openhq-agent: unknown shell ${JSON.stringify(requested)} on ${platform}; known: ${known.join(", ")}\n`,
    };
  }
  if (name === "cmd") return { ok: true, command: { file: "cmd.exe", args: ["/d", "/s", "/c", text] } };
  if (name === "powershell" || name === "pwsh") {
    return { ok: true, command: { file, args: ["-NoProfile", "-NonInteractive", "-Command", text] } };
  }
  return { ok: true, command: { file, args: ["-c", text] } };
}
