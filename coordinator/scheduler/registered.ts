// The registered clients as the scheduler's maintenance judges waiting reasons against them (waiting.ts,
// class-reasons.ts), kept without reading every client record every round: a farm of 10,000 blades made
// each 3-s round read and parse 10,000 hashes at once, a stall of the event loop that grew with idle
// blades. Each round reads the client list (ids only); new clients are read at once, gone ones dropped, and
// the known ones re-read REFRESH_PER_ROUND a round in turn (READ_CHUNK at a time, so that no one piece of
// the round holds the event loop long), so a change to a known client (cpus, terminated, GPUs) is seen
// within ⌈clients / 1,000⌉ rounds: every round on a farm of up to 1,000. Each client's entry (its record
// with `os` and `groups`) is made when its record is read and replaced only when that or its groups change:
// rebuilding all 10,000 entries every round (an object spread of each record) was the longest piece of a
// round, 15-50 ms every 3 s on a loaded box, the ping p99 of the 10,000-blade bench.
// One instance per coordinator process (main.ts), shared with newjob's reasons at submit (reasons.ts), which
// take the list of the last round instead of reading the clients themselves.

import type { Context } from "../context.js";
import { allClientIds, clientCount, readClients, type ClientRecord } from "../store/clients.js";
import { readGroups, type RegisteredClient } from "./waiting.js";
import { NO_GROUPS, sameGroups } from "./conditions.js";

const REFRESH_PER_ROUND = 1000;
/** Records read per round trip of a round. */
const READ_CHUNK = 250;

/** A list older than this is refreshed by whoever asks (current()): the scheduler's rounds are 3 s apart. */
const FRESH_MS = 5000;

/** A client's entry: its record with the names the conditions use. */
function entryOf(record: ClientRecord, groups: ReadonlySet<string>): RegisteredClient {
  return { ...record, os: record.platform, groups };
}

export class RegisteredClients {
  /** Each known client's entry, in the order first read. */
  private readonly entries = new Map<number, RegisteredClient>();
  private cursor = 0;
  /** The last round: when, its list, and how many ids {p}clients held then. */
  private last: { at: number; clients: RegisteredClient[]; listed: number } | null = null;
  private reading: Promise<RegisteredClient[]> | null = null;

  constructor(private readonly ctx: Context) {}

  /** Every registered client with its groups, as of this round. */
  async read(groupsByClient: Map<number, Set<string>>): Promise<RegisteredClient[]> {
    const ids = await allClientIds(this.ctx);
    const listed = new Set(ids);
    for (const id of this.entries.keys()) if (!listed.has(id)) this.entries.delete(id);
    if (this.cursor >= ids.length) this.cursor = 0;
    const wanted = new Set(ids.slice(this.cursor, this.cursor + REFRESH_PER_ROUND));
    this.cursor += REFRESH_PER_ROUND;
    for (const id of ids) if (!this.entries.has(id)) wanted.add(id);
    const list = [...wanted];
    for (let from = 0; from < list.length; from += READ_CHUNK) {
      const chunk = list.slice(from, from + READ_CHUNK);
      const read = await readClients(this.ctx, chunk);
      chunk.forEach((id, i) => {
        const record = read[i];
        if (record) this.entries.set(id, entryOf(record, groupsByClient.get(id) ?? NO_GROUPS));
        else this.entries.delete(id);
      });
    }
    // Group changes reach the entries not re-read this round (each entry is replaced, never changed: a list
    // handed out earlier stays as it was).
    for (const [id, entry] of this.entries) {
      const groups = groupsByClient.get(id) ?? NO_GROUPS;
      if (!sameGroups(entry.groups, groups)) this.entries.set(id, { ...entry, groups });
    }
    const clients = [...this.entries.values()];
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
