// This agent's own credential, given by the coordinator in its first `welcome` and presented in every later
// hello (coordinator/link/identity.ts). Kept in <state-dir>/credential.json (0600) with the coordinator
// URL it belongs to, so pointing the agent at another farm starts a fresh enrollment there.

import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export class CredentialFile {
  private readonly path: string;

  constructor(
    stateDir: string,
    private readonly server: string,
  ) {
    this.path = join(stateDir, "credential.json");
  }

  load(): string | null {
    try {
      const saved = JSON.parse(readFileSync(this.path, "utf8")) as { server?: unknown; credential?: unknown };
      return saved.server === this.server && typeof saved.credential === "string" ? saved.credential : null;
    } catch {
      return null;
    }
  }

  save(credential: string): void {
    const temp = `${this.path}.tmp`;
    writeFileSync(temp, JSON.stringify({ server: this.server, credential }), { mode: 0o600 });
    renameSync(temp, this.path);
  }
}
