// Once an agent has been set up for TLS it is never silently moved back to plain HTTP: the first start with
// an https:// (or wss://) coordinator leaves <state-dir>/tls-required, and a later start with an http://
// one is refused until an admin removes that file. A changed hqnode.ini (or OPENHQ_SERVER) cannot then send
// the farm secret, the credential and job output over an unencrypted link, nor fetch upgrades from it.

import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export class TlsDowngradeError extends Error {}

const MARKER = "tls-required";

/** Records TLS, or throws when this agent was set up for TLS and is now given a plain coordinator. */
export function checkTlsPin(stateDir: string, tls: boolean, coordinator: string): void {
  const marker = join(stateDir, MARKER);
  if (tls) {
    if (!existsSync(marker))
      writeFileSync(marker, "this agent reaches its coordinator over TLS only (agent/tls-pin.ts)\n", {
        mode: 0o600,
      });
    return;
  }
  if (existsSync(marker))
    throw new TlsDowngradeError(
      `this agent was set up for TLS (${marker}) and refuses the plain coordinator ${coordinator}: ` +
        `give its https:// URL, or remove that file to go back to plain HTTP`,
    );
}
