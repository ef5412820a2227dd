// The live output stream (/ws/output/<id>) with a real agent: it follows output whole, the older part read
// back from the job log store, and starts over with a reset when a retry begins a new attempt; each attempt's
// log stays downloadable (GET /jobs/<id>/log?attempt=N).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { followOutput, type OutputEvent } from "../shared/client/output-stream.js";
import { XmlRpcClient } from "../shared/xmlrpc/client.js";
import { startAgent, type TestAgent } from "./support/agent.js";
import { startCoordinator, type TestCoordinator } from "./support/coordinator.js";

let coordinator: TestCoordinator;
let agent: TestAgent;
let hq: XmlRpcClient;
const dir = mkdtempSync(join(tmpdir(), "openhq-web-output-"));

before(async () => {
  coordinator = await startCoordinator({ env: { OPENHQ_JOB_LOGS_DIR: join(dir, "logs") } });
  agent = await startAgent({ serverUrl: coordinator.url, name: "out" });
  hq = new XmlRpcClient(coordinator.url);
});
after(async () => {
  hq.close();
  await agent.stop();
  await coordinator.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("a viewer follows a log of several segments to its last line, and a retry resets the stream", async () => {
  const marker = join(dir, "first-attempt-done");
  // The first attempt prints one line and fails; the retry prints 3 MB (three segments of the file store),
  // then 150 numbered lines over ~1.5 s.
  const command =
    `if [ ! -e ${marker} ]; then touch ${marker}; echo "first attempt"; exit 1; fi; ` +
    `yes filler | head -c 2999997; ` +
    `for i in $(seq -w 1 150); do printf 'line %s %s\\n' $i xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; sleep 0.01; done`;
  const [jobId] = await hq.call<number[]>("newjob", { name: "capped", shell: "bash", command, triesLeft: 1 });
  assert.ok(jobId !== undefined);
  const events: OutputEvent[] = [];
  const status = await followOutput(coordinator.url, jobId, (e) => events.push(e));
  assert.equal(status, "succeeded");

  // Each attempt the viewer sees starts with a reset (the short first attempt may be over before the viewer
  // connects); the retry's is the last one.
  const resetAt = events.findLastIndex((e) => e.type === "reset");
  assert.ok(resetAt >= 0, "a reset marks the new attempt");
  const text = (from: number, to: number) =>
    events
      .slice(from, to)
      .map((e) => (e.type === "output" ? e.data : ""))
      .join("");
  const second = text(resetAt, events.length);
  assert.doesNotMatch(second, /first attempt/);
  const numbers = [...second.matchAll(/^line (\d{3}) x+$/gm)].map((m) => Number(m[1]));
  assert.deepEqual(
    numbers,
    Array.from({ length: 150 }, (_, i) => i + 1),
    "every line, in order",
  );
  assert.equal(second.split("filler\n").length - 1, 428_571, "the filler whole");
  assert.equal(second, await hq.call<string>("getJobOutput", jobId));

  const first = await fetch(`${coordinator.url}/jobs/${jobId}/log?attempt=1`);
  assert.equal(first.status, 200);
  assert.equal(await first.text(), "first attempt\n");
  const latest = await fetch(`${coordinator.url}/jobs/${jobId}/log`);
  assert.equal(await latest.text(), second);
});
