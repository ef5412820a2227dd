// Starts one command of a job (its main command or an on* hook) in its own process group and hands its
// combined output, byte for byte and in order, to `onData`.
//
// Order: on POSIX the command's stderr is made a copy of its stdout *inside* the child (a tiny /bin/sh
// prelude runs `exec 2>&1` and then execs the real shell), so both go through one pipe and the kernel keeps
// their order exactly. Windows has no such prelude: there the two pipes are merged by execa's `all`, which
// keeps the order only as well as the reads interleave.

import { execa, type ResultPromise } from "execa";
import { signalGroup } from "./control.js";
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
): RunningCommand {
  const posix = platform !== "win32";
  const file = posix ? "/bin/sh" : command.file;
  const args = posix
    ? ["-c", 'exec 2>&1; exec "$@"', "openhq-job", command.file, ...command.args]
    : command.args;
  const child = execa(file, args, {
    env,
    extendEnv: true,
    detached: posix,
    cleanup: false,
    stdin: "ignore",
    stdout: "pipe",
    stderr: posix ? "ignore" : "pipe",
    all: !posix,
    buffer: false,
    reject: false,
    windowsHide: true,
  });
  const output = posix ? child.stdout : child.all;
  const pid = child.pid ?? -1;

  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.once("exit", (code, signal) => {
      // A finished job leaves nothing behind: background processes still in its group go now. This also
      // closes the pipe they hold, so reading ends.
      if (posix && pid > 0) signalGroup(pid, "SIGKILL", platform);
      resolve({ code, signal });
    });
  });
  const drained = new Promise<void>((resolve) => {
    if (output === null || output === undefined) {
      resolve();
      return;
    }
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

  const done = settle(child, exited, drained);
  return {
    pid,
    pgid: pid,
    done,
    pauseOutput: () => output?.pause(),
    resumeOutput: () => output?.resume(),
  };
}

async function settle(
  child: ResultPromise,
  exited: Promise<{ code: number | null; signal: string | null }>,
  drained: Promise<void>,
): Promise<ExitStatus> {
  const result = await child;
  if (result.exitCode === undefined && result.signal === undefined && result.failed) {
    return { exitCode: null, signal: null, spawnError: result.shortMessage };
  }
  const { code, signal } = await exited;
  await drained;
  return { exitCode: code, signal };
}
