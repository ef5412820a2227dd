// `openhq job ID --failures`: the failed jobs of a tree grouped by why they failed (their lastError with
// numbers and paths folded, shared/failure-groups.ts), as the dashboard's failures panel shows them.

import { groupFailures } from "../shared/failure-groups.js";
import { CliError, Exit } from "./exit-codes.js";
import { table, toJson } from "./format.js";
import type { Io } from "./commands.js";

/** Jobs of the tree read at most, so a huge tree cannot keep the CLI reading forever. */
const MAX_WALK = 20_000;
/** Ids per getJobs call. */
const CHUNK = 1000;

export async function showFailures(io: Io, id: number): Promise<number> {
  const failures: { id: number; message: string }[] = [];
  let level = [id];
  let seen = 0;
  let first = true;
  while (level.length > 0 && seen < MAX_WALK) {
    const next: number[] = [];
    const ids = level.slice(0, MAX_WALK - seen);
    for (let start = 0; start < ids.length; start += CHUNK) {
      const rows = await io.server.getJobs(ids.slice(start, start + CHUNK), [
        "id",
        "status",
        "children",
        "lastError",
      ]);
      if (first && rows[0] === null) throw new CliError(`job ${id} does not exist`, Exit.fault);
      first = false;
      for (const job of rows) {
        if (job === null) continue;
        const children = job.children ?? [];
        next.push(...children);
        // A parent failed by a child is explained by that child; one that ran and failed itself has lastError.
        if (
          (job.status === "failed" || job.status === "abandoned") &&
          (children.length === 0 || job.lastError)
        )
          failures.push({ id: Number(job.id), message: String(job.lastError ?? "") });
      }
    }
    seen += ids.length;
    level = next;
  }
  const groups = groupFailures(failures);
  const partial = level.length > 0 ? `(the first ${MAX_WALK} jobs of the tree read)` : "";
  if (io.json) {
    io.out.write(toJson({ jobId: id, failed: failures.length, groups, complete: partial === "" }));
    return Exit.ok;
  }
  if (groups.length === 0) {
    io.out.write(`job ${id}: no failed jobs${partial === "" ? "" : ` ${partial}`}\n`);
    return Exit.ok;
  }
  io.out.write(`job ${id}: ${failures.length} failed, ${groups.length} distinct messages${partial === "" ? "" : ` ${partial}`}\n`);
  io.out.write(
    table(
      ["COUNT", "MESSAGE", "JOBS"],
      groups.map((g) => [String(g.count), g.message, g.ids.join(",") + (g.count > g.ids.length ? ",…" : "")]),
    ),
  );
  return Exit.ok;
}
