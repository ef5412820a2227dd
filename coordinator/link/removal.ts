// Taking a machine out of the farm for good (removeClients, `openhq remove`, the client page's Remove
// button). In order: the client is disabled (no new assignment can reach it), the attempts it held go back
// to the queue through the same path as a lost machine's (crash.ts), the agent is told to stop them and its
// credential is revoked (its link closes), then one Lua step deletes the record
// (store/clients.ts removeClientRecord). A job assigned in between keeps the record: its attempt is released
// as well and the step runs again.

import type { Context } from "../context.js";
import { readJobFields } from "../store/job-fields.js";
import type { JobStore } from "../store/jobs.js";
import { jobsOfClient, readClient, removeClientRecord, sendControl, setDisabled } from "../store/clients.js";
import { revokeClient } from "../store/credentials.js";
import { releaseMachineAttempts } from "./crash.js";

/** Rounds of release-then-delete before giving up on a client the scheduler keeps assigning to. */
const MAX_ROUNDS = 5;

/** Removes client `id`: true when its record is gone (also when it was gone already). */
export async function removeMachine(ctx: Context, store: JobStore, id: number): Promise<boolean> {
  const client = await readClient(ctx, id);
  if (client === null) return true;
  await setDisabled(ctx, id, true);
  const reason = `${client.label} removed from the farm`;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const jobIds = await jobsOfClient(ctx, id);
    const attempts = (await readJobFields(ctx, jobIds, ["attempt"])).map((r) => Number(r?.[0]));
    const held = jobIds.map((jobId, i) => ({ jobId, attempt: attempts[i] as number }));
    // Released first, so what the agent reports of them from here on is stale and changes nothing; the
    // cancels go before `revoked` on the same channel, so the agent stops them before its link closes.
    for (const h of await releaseMachineAttempts(store, held, reason))
      await sendControl(ctx, id, { type: "cancel", ...h });
    if (round === 0) await revokeClient(ctx, id);
    if ((await removeClientRecord(ctx, id)) !== "held") return true;
  }
  return false;
}
