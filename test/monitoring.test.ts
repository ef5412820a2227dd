// deploy/monitoring/ against promtool (Debian's prometheus package; scripts/ensure.mjs installs it for
// tests): the alert rules pass `promtool check rules`, a live coordinator's /metrics passes `promtool check
// metrics`, and every metric the rules and the Grafana dashboard query is one the coordinator exports.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startCoordinator } from "./support/coordinator.js";
import { oneAgentFarm } from "./support/one-agent-farm.js";
import { startRedis } from "./support/redis.js";

const DIR = join(process.cwd(), "deploy", "monitoring");
const hasPromtool = spawnSync("sh", ["-c", "command -v promtool"]).status === 0;

/** Metric names in PromQL text: identifiers followed by `{`, `[` or `)` / space that look like ours. */
function metricNames(promql: string): string[] {
  return [...promql.matchAll(/\b((?:openhq|process|nodejs)_[a-z_]+)/g)].map((m) => m[1] as string);
}

test("alert rules pass promtool check rules; /metrics passes promtool check metrics and has every queried metric", async (t) => {
  if (!hasPromtool) {
    t.skip("promtool is missing (apt-get install prometheus; scripts/ensure.mjs test does)");
    return;
  }
  const rulesFile = join(DIR, "openhq-alerts.yml");
  const rules = spawnSync("promtool", ["check", "rules", rulesFile], { encoding: "utf8" });
  assert.equal(rules.status, 0, rules.stdout + rules.stderr);
  assert.match(rules.stdout, /SUCCESS: 7 rules found/);

  const { coordinator, hq } = await oneAgentFarm(t);
  const [id] = await hq.newjob({ name: "one", command: "true" });
  while ((await hq.getJob(id as number, ["status"])).status !== "succeeded") {
    await new Promise((r) => setTimeout(r, 100));
  }
  const text = await (await fetch(`${coordinator.url}/metrics`)).text();
  const check = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  assert.equal(check.status, 0, check.stdout + check.stderr);

  const exported = new Set(
    text
      .split("\n")
      .filter((l) => l.startsWith("# TYPE "))
      .flatMap((l) => {
        const [, , name, type] = l.split(" ");
        return type === "histogram" ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name as string];
      }),
  );
  const dashboard = JSON.parse(readFileSync(join(DIR, "openhq-grafana.json"), "utf8")) as {
    panels: { title: string; targets: { expr: string }[] }[];
  };
  const queried = [
    ...metricNames(readFileSync(rulesFile, "utf8").replace(/^\s*#.*$/gm, "")),
    ...dashboard.panels.flatMap((p) => p.targets.flatMap((q) => metricNames(q.expr))),
  ];
  assert.ok(queried.length > 10);
  for (const name of queried) assert.ok(exported.has(name), `${name} is queried but not exported`);
  assert.ok(dashboard.panels.length >= 8);
});

test("with Redis gone, /metrics still answers: openhq_redis_up 0 for the RedisDown alert", async (t) => {
  const redis = await startRedis();
  const coordinator = await startCoordinator({ redisUrl: redis.url });
  // With its Redis gone, a coordinator's shutdown waits out its 20 s bound (the job logs' last writes): it
  // is killed instead, its shutdown is not what this test is about.
  t.after(() => {
    coordinator.process.kill("SIGKILL");
    return coordinator.stop();
  });
  t.after(() => redis.stop());
  const up = await (await fetch(`${coordinator.url}/metrics`)).text();
  assert.match(up, /^openhq_redis_up 1$/m);
  await redis.stop();
  const res = await fetch(`${coordinator.url}/metrics`);
  assert.equal(res.status, 200);
  const down = await res.text();
  assert.match(down, /^openhq_redis_up 0$/m);
  assert.match(down, /^openhq_up 1$/m);
  assert.doesNotMatch(down, /^openhq_jobs\{/m);
});
