// Exit codes of `openhq`, stable for scripts (documented in `openhq --help` and docs/ADMIN.md).

export const Exit = {
  /** The command worked; with `submit --wait`, every submitted job succeeded. */
  ok: 0,
  /** `submit --wait`: a job failed or was abandoned. */
  jobFailed: 1,
  /** Bad command line or unreadable spec file. */
  usage: 2,
  /** The server (or agent) could not be reached. */
  unreachable: 3,
  /** The server answered with a Fault (unknown job, bad argument, not allowed in this state …). */
  fault: 4,
  /** Access control refused the call (HTTP 401 or Fault 403). */
  denied: 5,
  /** `submit --wait`: a job was cancelled. */
  jobCancelled: 6,
  /** Interrupted with Ctrl-C. */
  interrupted: 130,
} as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}
