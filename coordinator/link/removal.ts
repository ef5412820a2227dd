// Taking a machine out of the farm for good (removeClients, `openhq remove`, the client page's Remove
// button). In order: the client is disabled (no new assignment can reach it), the attempts it held go back
// to the queue through the same path as a lost machine's (blade-lost.ts), the agent is told to stop them and its
// credential is revoked (its link closes), then one Lua step deletes the record
// (store/clients.ts removeClientRecord). A job assigned in between keeps the record: its attempt is released
// as well and the step runs again.

import type { Context } from "../context.js";
import type { JobStore } from "../store/jobs.js";
import { readClient, removeClientRecord, sendControl, setDisabled } from "../store/clients.js";
import { revokeClient } from "../store/credentials.js";
import { bladeLost } from "./blade-lost.js";

/** Rounds of release-then-delete before giving up on a client the scheduler keeps assigning to. */
const MAX_ROUNDS = 5;

/** Removes client `id`: true when its record is gone (also when it was gone already). */
export async function removeMachine(ctx: Context, store: JobStore, id: number): Promise<boolean> {
  const client = await readClient(ctx, id);
  if (client === null) return true;
  await setDisabled(ctx, id, true);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    // Released first, so what the agent reports of them from here on is stale and changes nothing; the
    // cancels go before `revoked` on the same channel, so the agent stops them before its link closes.
    const blade = { clientId: id, label: client.label };
    for (const { jobId, attempt } of await bladeLost({ ctx, store }, blade, "removed from the farm"))
      await sendControl(ctx, id, { type: "cancel", jobId, attempt });
    if (round === 0) await revokeClient(ctx, id);
    if ((await removeClientRecord(ctx, id)) !== "held") return true;
  }
  return false;
}
