// Starts one command of a job (its main command or an on* hook) in its own process group and hands its
// combined output, byte for byte and in order, to `onData`.
//
// Order: on POSIX the command's stderr is made a copy of its stdout *inside* the child (a tiny /bin/sh
// prelude runs `exec 2>&1` and then execs the real shell), so both go through one pipe and the kernel keeps
// their order exactly. Windows has no such prelude: there the two pipes are merged as their reads
// interleave, which keeps the order only as well as that.
//
// A command that cannot be started (no file handles left, EMFILE; arguments too long, E2BIG; no shell,
// ENOENT) fails that attempt with the reason and nothing else: node:child_process reports some of these by
// throwing and others by an 'error' event, both are caught here (an 'error' event without a listener would
// end the agent, and every job on the blade with it).
//
// Account: given a job account (agent/job-account.ts) other than the agent's own, the command runs as that
// user, in its home folder, with HOME/USER/LOGNAME of it: through `setpriv --reuid --regid --init-groups`
// (the user's groups too) or Node's uid/gid.

import { spawn, type ChildProcess } from "node:child_process";
import { Readable } from "node:stream";
import { signalGroup } from "./control.js";
import { accountEnvironment, type JobAccount } from "./job-account.js";
import type { ShellCommand } from "./shell.js";

export interface ExitStatus {
  exitCode: number | null;
  signal: string | null;
  /** Set when the command could not be started at all. */
  spawnError?: string;
}

export interface RunningCommand {
  pid: number;
  /** The process group (= pid on POSIX). */
  pgid: number;
  /** Resolves once the command has exited and its output has been read to the end. */
  done: Promise<ExitStatus>;
  /** Backpressure: stop and restart reading the output (the command blocks when the pipe fills). */
  pauseOutput(): void;
  resumeOutput(): void;
}

/** After the command exits, how long its output may stay open (held by an escaped background process). */
const DRAIN_AFTER_EXIT_MS = 2000;

export function runCommand(
  command: ShellCommand,
  env: Record<string, string>,
  onData: (data: Buffer) => void,
  platform: NodeJS.Platform = process.platform,
  account: JobAccount | null = null,
): RunningCommand {
  const posix = platform !== "win32";
  const file = posix ? "/bin/sh" : command.file;
  const args = posix
    ? ["-c", 'exec 2>&1; exec "$@"', "openhq-job", command.file, ...command.args]
    : command.args;
  const as = account?.switchUser === true ? switchedTo(account, file, args, env) : null;
  let child: ChildProcess;
  try {
    child = spawn(as?.file ?? file, as?.args ?? args, {
      // The whole environment is given (agent/job-env.ts): the agent's own secrets are left out of it.
      env: as?.env ?? env,
      ...as?.options,
      detached: posix,
      stdio: ["ignore", "pipe", posix ? "ignore" : "pipe"],
      windowsHide: true,
    });
  } catch (err) {
    return notStarted(file, err as NodeJS.ErrnoException);
  }
  const pid = child.pid ?? -1;
  const failedToStart = new Promise<ExitStatus>((resolve) =>
    child.on("error", (err: NodeJS.ErrnoException) => {
      // 'error' also means a kill failed; only a child that never got a pid did not start.
      if (child.pid === undefined) resolve(spawnFailure(file, err));
    }),
  );
  // A child that could not get its pipes (EMFILE) has neither, whatever the types say.
  const outputs = [child.stdout, child.stderr].filter((s): s is Readable => s instanceof Readable);

  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.once("exit", (code, signal) => {
      // A finished job leaves nothing behind: background processes still in its group go now. This also
      // closes the pipe they hold, so reading ends.
      if (posix && pid > 0) signalGroup(pid, "SIGKILL", platform);
      resolve({ code, signal });
    });
  });
  const drained = Promise.all(outputs.map((output) => drain(output, exited, onData)));

  const done =
    pid < 0
      ? failedToStart
      : Promise.race([
          failedToStart,
          Promise.all([exited, drained]).then(([status]) => ({
            exitCode: status.code,
            signal: status.signal,
          })),
        ]);
  return {
    pid,
    pgid: pid,
    done,
    pauseOutput: () => outputs.forEach((o) => o.pause()),
    resumeOutput: () => outputs.forEach((o) => o.resume()),
  };
}

/** Reads one output pipe to its end, or until DRAIN_AFTER_EXIT_MS after the command exited. */
function drain(output: Readable, exited: Promise<unknown>, onData: (data: Buffer) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    output.on("data", (data: Buffer) => onData(data));
    output.once("end", () => resolve());
    output.once("close", () => resolve());
    output.once("error", () => resolve());
    // Something outside the group (setsid) may keep the pipe open forever; stop waiting for it.
    void exited.then(() =>
      setTimeout(() => {
        output.destroy();
        resolve();
      }, DRAIN_AFTER_EXIT_MS).unref(),
    );
  });
}

function spawnFailure(file: string, err: NodeJS.ErrnoException): ExitStatus {
  const reason =
    err.code === "EMFILE" || err.code === "ENFILE"
      ? "the agent has no file handles left"
      : err.code === "E2BIG"
        ? "the command and its environment are too long"
        : err.code === "ENOENT"
          ? `${file} not found`
          : err.message;
  return {
    exitCode: null,
    signal: null,
    spawnError: `cannot start ${file}: ${reason} (${err.code ?? err.message})`,
  };
}

/** How to start `file args` as `account`: through setpriv (groups too), else with Node's uid/gid. */
function switchedTo(account: JobAccount, file: string, args: string[], env: Record<string, string>) {
  const common = { env: { ...env, ...accountEnvironment(account) } };
  if (account.setpriv !== null)
    return {
      ...common,
      file: account.setpriv,
      args: [`--reuid=${account.uid}`, `--regid=${account.gid}`, "--init-groups", "--", file, ...args],
      options: { cwd: account.home },
    };
  return { ...common, file, args, options: { cwd: account.home, uid: account.uid, gid: account.gid } };
}

function notStarted(file: string, err: NodeJS.ErrnoException): RunningCommand {
  return {
    pid: -1,
    pgid: -1,
    done: Promise.resolve(spawnFailure(file, err)),
    pauseOutput: () => {},
    resumeOutput: () => {},
  };
}
