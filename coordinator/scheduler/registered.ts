// The registered clients as the scheduler's maintenance judges waiting reasons against them (waiting.ts,
// class-reasons.ts), kept without reading every client record every round: a farm of 10,000 blades made
// each 3-s round read and parse 10,000 hashes at once, a stall of the event loop that grew with idle
// blades. Each round reads the client list (ids only); new clients are read at once, gone ones dropped, and
// the known ones re-read REFRESH_PER_ROUND a round in turn, so a change to a known client (cpus,
// terminated, GPUs) is seen within ⌈clients / 1,000⌉ rounds: every round on a farm of up to 1,000.
// One instance per coordinator process (main.ts), shared with newjob's reasons at submit (reasons.ts), which
// take the list of the last round instead of reading the clients themselves.

import type { Context } from "../context.js";
import { allClientIds, clientCount, readClients, type ClientRecord } from "../store/clients.js";
import { readGroups, type RegisteredClient } from "./waiting.js";

const REFRESH_PER_ROUND = 1000;
/** A list older than this is refreshed by whoever asks (current()): the scheduler's rounds are 3 s apart. */
const FRESH_MS = 5000;

export class RegisteredClients {
  private readonly records = new Map<number, ClientRecord>();
  private cursor = 0;
  /** The last round: when, its list, and how many ids {p}clients held then. */
  private last: { at: number; clients: RegisteredClient[]; listed: number } | null = null;
  private reading: Promise<RegisteredClient[]> | null = null;

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
    const clients = [...this.records.values()].map((c) => ({
      ...c,
      os: c.platform,
      groups: groupsByClient.get(c.id) ?? new Set<string>(),
    }));
    this.last = { at: Date.now(), clients, listed: ids.length };
    return clients;
  }

  /**
   * The list of the last round while it is fresh (the scheduler's maintenance keeps it so) and the number of
   * clients has not changed since: one O(1) read (ZCARD), whatever the number of clients. Otherwise (a client
   * registered or left, or a process without a scheduler) one round here: the ids, the new records and 1,000
   * known ones.
   */
  async current(): Promise<RegisteredClient[]> {
    if (this.last && Date.now() - this.last.at < FRESH_MS) {
      if ((await clientCount(this.ctx)) === this.last.listed) return this.last.clients;
    }
    this.reading ??= readGroups(this.ctx)
      .then((groups) => this.read(groups))
      .finally(() => (this.reading = null));
    return this.reading;
  }
}
