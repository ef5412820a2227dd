// Small helpers shared by the scheduler, link, e2e and fault tests: Python calls against a coordinator,
// waiting for job statuses or any condition, and an hqserver.ini with a short activeTimeout.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PRELUDE, python } from "./python.js";

export function py<T>(url: string, code: string, timeoutMs?: number): Promise<T> {
  return python<T>(PRELUDE + code, { HQSERVER: url }, timeoutMs);
}

/**
 * Python that polls until every job in `ids` is finished; prints {id: status}. Each poll asks only for the
 * jobs not finished yet: a wait on thousands of jobs would otherwise read them all 20 times a second, and
 * that load on the coordinator and Redis slowed the very jobs it waited for. The pause between polls grows
 * with the jobs still pending (0.1 s, up to 1 s at 1,800 or more): polling 2,000 pending jobs ten times a
 * second cost about a fifth of faults-farm's CPU (Python, the coordinator and Redis), while the last few jobs
 * are still seen within 0.1 s of finishing.
 */
function waitFinishedPy(ids: number[], timeoutS = 60): string {
  return `
import time
ids = ${JSON.stringify(ids)}
deadline = time.time() + ${timeoutS}
statuses = {}
pending = ids
while True:
    for j in hq.getJobs(pending, ["id", "status"]):
        statuses[j["id"]] = j["status"]
    pending = [i for i in pending if statuses[i] not in ("succeeded", "failed", "cancelled", "abandoned")]
    if not pending or time.time() > deadline:
        break
    time.sleep(min(1.0, 0.1 + len(pending) / 2000))
out({str(i): statuses[i] for i in ids})
`;
}

export async function waitFinished(
  url: string,
  ids: number[],
  timeoutS = 60,
): Promise<Record<string, string>> {
  return py<Record<string, string>>(url, waitFinishedPy(ids, timeoutS), (timeoutS + 30) * 1000);
}

/** Disables every registered client (a test leaves the farm empty for the next one). */
export async function disableAllClients(url: string): Promise<void> {
  await py(
    url,
    `
for c in hq.getClients(None, ["label"]):
    hq.setdisabled(c["label"], True)
out(True)`,
  );
}

/** Polls getJob until `pred` holds for the given attributes (or times out, returning the last value). */
export async function waitJob(
  url: string,
  id: number,
  attribs: string[],
  pred: string,
  timeoutS = 30,
): Promise<Record<string, unknown>> {
  return py<Record<string, unknown>>(
    url,
    `
import time
deadline = time.time() + ${timeoutS}
while True:
    j = hq.getJob(${id}, ${JSON.stringify(attribs)})
    if (${pred}) or time.time() > deadline:
        break
    time.sleep(0.05)
out(j)
`,
    (timeoutS + 30) * 1000,
  );
}

/** A temporary hqserver.ini; returns the --config arguments. */
export function iniArgs(text: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), "openhq-ini-"));
  const path = join(dir, "hqserver.ini");
  writeFileSync(path, text);
  return ["--config", path];
}
