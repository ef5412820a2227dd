// The words the dashboard and `openhq` show for a job's state. HQueue's statuses stay what the API answers;
// only their presentation changes here. A parent is `queued` in HQueue while it waits on its children, which
// wranglers read as "not started": while children run it reads "rendering 12 of 300", while none runs
// "waiting". Everything else (a leaf, a paused or finished parent) keeps HQueue's word (uiStatus for leaves:
// "waiting for machine", "running (1 clients assigned)").

/** What the word of a parent needs from the `childCounts` attribute. */
export interface TreeCounts {
  running: number;
  descendants: number;
}

/** Statuses of a parent that say what it does: it waits on or runs its children (or its own command). */
const ACTIVE = new Set(["queued", "runnable", "running"]);

export function statusWord(status: string, uiStatus: string, tree: TreeCounts | null): string {
  if (tree === null) return uiStatus === "" ? status : uiStatus;
  if (!ACTIVE.has(status)) return status;
  if (tree.running > 0) return `rendering ${tree.running} of ${tree.descendants}`;
  return status === "running" ? status : "waiting";
}

/** The counts of a `childCounts` attribute value (None / anything else: a job without children). */
export function treeCounts(value: unknown): TreeCounts | null {
  if (typeof value !== "object" || value === null) return null;
  const v = value as Record<string, unknown>;
  return typeof v["running"] === "number" && typeof v["descendants"] === "number"
    ? { running: v["running"], descendants: v["descendants"] }
    : null;
}
