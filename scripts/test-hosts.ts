// `npm run test:hosts`: the multi-host deploy test (test/hosts/), on network namespaces it makes itself. It
// needs root, `ip` and `unshare`; where they are missing it says why and exits with SKIPPED (77, as
// automake's harness), never 0, so a skip is never taken for a pass. CI runs as root: there a skip fails
// the run (.ci/run does not accept 77).
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { namespacesUnavailable, sweepLeftovers } from "../test/support/netns.js";

const SKIPPED = 77;

const unavailable = namespacesUnavailable();
if (unavailable !== null) {
  process.stderr.write(`SKIP test:hosts: ${unavailable}; the multi-host deploy test did NOT run\n`);
  process.exit(SKIPPED);
}
const swept = sweepLeftovers();
if (swept.length > 0)
  process.stderr.write(`test:hosts: removed the hosts of killed runs: ${swept.join(" ")}\n`);
const dir = join("test", "hosts");
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".test.ts"))
  .map((f) => join(dir, f));
const result = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-timeout=600000", ...files], {
  stdio: "inherit",
});
process.exit(result.status ?? 1);
