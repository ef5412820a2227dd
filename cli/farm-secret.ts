// `openhq secret` and `openhq rotate-secret`, run by an admin on the coordinator's host: the farm secret is
// never shown on a web page nor returned by the API, so it is read where the coordinator keeps it: the data
// folder's farm-secret file (0600, the coordinator's user), or openhq.agentToken in hqserver.ini when it
// is configured.

import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { readIni } from "../shared/ini.js";
import { CliError, Exit } from "./exit-codes.js";

export interface SecretPlace {
  /** --data: the coordinator's data folder. */
  data?: string | undefined;
  /** --config: the coordinator's hqserver.ini. */
  config?: string | undefined;
}

/** The packaged coordinator's data folder (deploy/systemd/openhq-coordinator.service --data). */
const PACKAGED_DATA_DIR = "/var/lib/openhq";

/** Any section's value of `key`, a later section winning (as the coordinator reads hqserver.ini). */
function iniValue(file: string, key: string): string | undefined {
  let found: string | undefined;
  for (const section of Object.values(readIni(file).sections))
    if (section[key] !== undefined && section[key].trim() !== "") found = section[key].trim();
  return found;
}

/** The farm secret as the coordinator on this host has it; throws a CliError saying where it looked. */
export function readFarmSecret(place: SecretPlace, env: NodeJS.ProcessEnv): string {
  const config = place.config ?? (env["OPENHQ_CONFIG"] || undefined);
  const configured =
    config === undefined
      ? undefined
      : (iniValue(config, "openhq.farmSecret") ?? iniValue(config, "openhq.agentToken"));
  if (configured !== undefined) return configured;
  const given =
    place.data ??
    env["OPENHQ_DATA"] ??
    (config === undefined ? undefined : iniValue(config, "openhq.dataDir"));
  const dirs =
    given !== undefined
      ? [given]
      : [join(env["XDG_DATA_HOME"] || join(homedir(), ".local", "share"), "openhq"), PACKAGED_DATA_DIR];
  const denied: string[] = [];
  for (const dir of dirs) {
    const file = join(dir, "farm-secret");
    try {
      const secret = readFileSync(file, "utf8").trim();
      if (secret !== "") return secret;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EACCES" || code === "EPERM") denied.push(file);
    }
  }
  if (denied.length > 0)
    throw new CliError(
      `secret: cannot read ${denied.join(", ")}: run as the coordinator's user or root (e.g. sudo openhq secret)`,
      Exit.denied,
    );
  throw new CliError(
    `secret: no farm-secret in ${dirs.join(" or ")}: give the coordinator's --data DIR (or --config hqserver.ini ` +
      `when openhq.agentToken is configured there); a coordinator writes it at its first start`,
    Exit.fault,
  );
}
