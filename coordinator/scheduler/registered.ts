// The registered clients as the scheduler's maintenance judges waiting reasons against them (waiting.ts,
// class-reasons.ts), kept without reading every client record every round: a farm of 10,000 blades made
// each 3-s round read and parse 10,000 hashes at once, a stall of the event loop that grew with idle
// blades. Each round reads the client list (ids only); new clients are read at once, gone ones dropped, and
// the known ones re-read REFRESH_PER_ROUND a round in turn, so a change to a known client (cpus,
// terminated, GPUs) is seen within ⌈clients / 1,000⌉ rounds: every round on a farm of up to 1,000.

import type { Context } from "../context.js";
import { allClientIds, readClients, type ClientRecord } from "../store/clients.js";
import type { RegisteredClient } from "./waiting.js";

const REFRESH_PER_ROUND = 1000;

export class RegisteredClients {
  private readonly records = new Map<number, ClientRecord>();
  private cursor = 0;

  constructor(private readonly ctx: Context) {}

  /** Every registered client with its groups, as of this round. */
  async read(groupsByClient: Map<number, Set<string>>): Promise<RegisteredClient[]> {
    const ids = await allClientIds(this.ctx);
    const listed = new Set(ids);
    for (const id of this.records.keys()) if (!listed.has(id)) this.records.delete(id);
    if (this.cursor >= ids.length) this.cursor = 0;
    const wanted = new Set(ids.slice(this.cursor, this.cursor + REFRESH_PER_ROUND));
    this.cursor += REFRESH_PER_ROUND;
    for (const id of ids) if (!this.records.has(id)) wanted.add(id);
    const list = [...wanted];
    const read = await readClients(this.ctx, list);
    list.forEach((id, i) => {
      const record = read[i];
      if (record) this.records.set(id, record);
      else this.records.delete(id);
    });
    return [...this.records.values()].map((c) => ({
      ...c,
      os: c.platform,
      groups: groupsByClient.get(c.id) ?? new Set<string>(),
    }));
  }
}
