// A job's progress and overallProgress reach Python as floats even when whole (0.0 for a fresh job), as
// HQueue sends them: scripts format them with %f or divide by them without caring, but `type(...)` and
// `json.dumps` show the difference.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startCoordinator, type TestCoordinator } from "./support/coordinator.js";
import { PRELUDE, python } from "./support/python.js";

describe("xmlrpc: whole-number doubles through the job API", () => {
  let coordinator: TestCoordinator;
  before(async () => {
    coordinator = await startCoordinator();
  });
  after(async () => {
    await coordinator?.stop();
  });

  it("gives Python a float progress and overallProgress for a fresh job", async () => {
    const result = await python<Record<string, string>>(
      PRELUDE +
        `
[job_id] = hq.newjob({"name": "floats", "command": "true"})
one = hq.getJob(job_id, ["progress"])
full = hq.getJob(job_id)
[listed] = hq.getJobs([job_id], ["overallProgress", "progress", "priority"])
out({
  "one": type(one["progress"]).__name__,
  "value": repr(one["progress"]),
  "fullProgress": type(full["progress"]).__name__,
  "fullOverall": type(full["overallProgress"]).__name__,
  "listedOverall": type(listed["overallProgress"]).__name__,
  "listedPriority": type(listed["priority"]).__name__,
})
`,
      { HQSERVER: coordinator.url },
    );
    assert.deepEqual(result, {
      one: "float",
      value: "0.0",
      fullProgress: "float",
      fullOverall: "float",
      listedOverall: "float",
      listedPriority: "int",
    });
  });
});
