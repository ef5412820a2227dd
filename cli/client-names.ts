// Clients as `openhq` takes them: an id (`openhq clients` lists them), "host" (every client on it),
// "host:name", or a name alone when exactly one client has it ("blade03" for "vm:blade03").

import { CliError, Exit } from "./exit-codes.js";
import type { Io } from "./commands.js";

export interface ResolvedClient {
  arg: string;
  ids: number[];
  labels: string[];
}

/** Each argument's clients, in order; an argument matching no client is listed in `unknown`. */
export async function resolveClients(
  io: Io,
  args: string[],
): Promise<{ found: ResolvedClient[]; unknown: string[] }> {
  const found: ResolvedClient[] = [];
  const unknown: string[] = [];
  let everyone: { id: number; label: string }[] | null = null;
  for (const arg of args) {
    const byName = await io.server.getClientsByName([arg], ["id", "label"]);
    const byId =
      byName.length === 0 && /^\d+$/.test(arg)
        ? await io.server.getClients([Number(arg)], ["id", "label"])
        : [];
    let clients = [...byName, ...byId].map((c) => ({ id: Number(c.id), label: String(c.label) }));
    if (clients.length === 0 && !arg.includes(":")) {
      // Only when the exact forms match nothing: read every label once, for the short names.
      everyone ??= (await io.server.getClients(null, ["id", "label"])).map((c) => ({
        id: Number(c.id),
        label: String(c.label),
      }));
      clients = everyone.filter((c) => c.label.slice(c.label.indexOf(":") + 1) === arg && c.label !== arg);
      if (clients.length > 1)
        throw new CliError(
          `${arg} is ambiguous: ${labelsByHost(clients).join(", ")} (give host:name or an id)`,
          Exit.usage,
        );
    }
    if (clients.length === 0) unknown.push(arg);
    else found.push({ arg, ids: clients.map((c) => c.id), labels: clients.map((c) => c.label) });
  }
  return { found, unknown };
}

/**
 * The candidates' labels ordered by host (they share the name): the same list whatever order the clients
 * registered in, and two agents starting together register in either.
 */
function labelsByHost(clients: { label: string }[]): string[] {
  const host = (label: string) => label.slice(0, label.indexOf(":"));
  return clients.map((c) => c.label).sort((a, b) => (host(a) < host(b) ? -1 : host(a) > host(b) ? 1 : 0));
}

export function noSuchClient(unknown: string[]): CliError {
  return new CliError(`no such client: ${unknown.join(", ")} (see \`openhq clients\`)`, Exit.fault);
}

/** One client for the calls that take one (health, history, release): its id. */
export async function resolveOneClient(io: Io, arg: string): Promise<number> {
  const { found, unknown } = await resolveClients(io, [arg]);
  if (unknown.length > 0) throw noSuchClient(unknown);
  const ids = found[0]?.ids ?? [];
  if (ids.length !== 1)
    throw new CliError(`${arg} names ${ids.length} clients: ${found[0]?.labels.join(", ")}`, Exit.usage);
  return ids[0] as number;
}
