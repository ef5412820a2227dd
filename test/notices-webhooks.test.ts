// Webhooks on a real farm, delivered to a real HTTP receiver that checks every X-OpenHQ-Signature
// (test/support/webhook-receiver.ts): the payload's fields and the hooks' filters; a receiver down for 20 s
// gets every notice once when it is back; and with two coordinators on one Redis, one SIGKILLed while its
// deliveries are in flight, the other delivers each notice once after the lease.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  startCoordinatorWithRedis,
  type CoordinatorFixture,
  type StartedCoordinator,
} from "./support/coordinator-fixture.js";
import { useOneAgentFarm } from "./support/one-agent-farm.js";
import { startRedis } from "./support/redis.js";
import { startWebhookReceiver, type Delivery, type WebhookReceiver } from "./support/webhook-receiver.js";
import { until } from "./support/eventually.js";
import { Outbox } from "../coordinator/notices/outbox.js";

const SECRET = "hook-s3cret";
const dir = mkdtempSync(join(tmpdir(), "openhq-notices-hooks-"));
let receiver: WebhookReceiver;

function writeIni(name: string, lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, ["[main]", ...lines].join("\n"));
  return path;
}

/** The hqserver.ini lines of webhook `name`: openhq.webhooks.NAME.KEY = VALUE for each of `settings`. */
const hookLines = (name: string, settings: Record<string, string>): string[] =>
  Object.entries(settings).map(([key, value]) => `openhq.webhooks.${name}.${key} = ${value}`);

// The receiver starts in the farm's hook: its port goes in the coordinator's hqserver.ini.
const farm = useOneAgentFarm(async () => {
  receiver = await startWebhookReceiver(SECRET);
  const secretFile = join(dir, "ci-secret");
  writeFileSync(secretFile, `${SECRET}\n`);
  const base = `http://127.0.0.1:${receiver.port}`;
  const ini = writeIni("hqserver.ini", [
    "openhq.serverUrl = http://farm.example:5000",
    "openhq.notices.pollMs = 50",
    "openhq.notices.retryMs = 200",
    ...hookLines("ci", { url: `${base}/ci`, secretFile, events: "succeeded,failed" }),
    ...hookLines("chat", {
      url: `${base}/chat`,
      secret: SECRET,
      events: "succeeded",
      users: "alice",
      name: "shot*",
      format: "slack",
    }),
    ...hookLines("lighting", {
      url: `${base}/lighting`,
      secret: SECRET,
      events: "succeeded,failed",
      shares: "lighting",
    }),
    "openhq.share.lighting.weight = 2",
  ]);
  return { args: ["--config", ini] };
}, 4);
after(async () => {
  await receiver?.close();
});

interface Payload {
  event: string;
  delivery: string;
  job: {
    id: number;
    name: string;
    status: string;
    submittedBy: string;
    share: string;
    url: string;
    logTail: string;
  };
}

/**
 * Until the farm's outbox is empty: a notice leaves it only once its delivery has ended, claimed ones too
 * (their lease is their score), so after this no delivery can come again. Checks of "delivered once" wait
 * for this, not for a fixed time.
 */
const outboxEmpty = (farm: CoordinatorFixture): Promise<number> =>
  until(
    "the outbox to empty",
    () => new Outbox(farm.redis, farm.keys).pending(),
    (n) => n === 0,
  );

const payload = (d: Delivery): Payload => JSON.parse(d.body) as Payload;
const answered = (path: string): Delivery[] =>
  receiver.deliveries.filter((d) => d.path === path && d.answered);
const forJob = (path: string, id: number): Delivery[] =>
  answered(path).filter((d) => payload(d).job.id === id);

test("signed JSON and Slack deliveries with the job's fields, filtered by status, user, share and name", async () => {
  const [shot, comp, other, lit] = (await farm.submit(
    { name: "shot 010", command: "true", submittedBy: "alice" },
    { name: "comp", command: "echo no licence; exit 2", submittedBy: "bob" },
    { name: "shot 020", command: "true", submittedBy: "bob" },
    { name: "relight", command: "true", submittedBy: "bob", share: "lighting" },
  )) as [number, number, number, number];
  for (const id of [shot, comp, other, lit]) await farm.finished(id);
  await until(
    "four ci deliveries",
    () => answered("/ci").length,
    (n) => n >= 4,
  );
  await until(
    "the chat delivery",
    () => answered("/chat").length,
    (n) => n >= 1,
  );
  await outboxEmpty(farm);
  for (const id of [shot, comp, other, lit])
    assert.equal(forJob("/ci", id).length, 1, `one ci delivery of job ${id}`);
  // The lighting hook hears only the job of its share, and the payload names the share.
  await until(
    "the lighting delivery",
    () => answered("/lighting").length,
    (n) => n >= 1,
  );
  assert.deepEqual(
    answered("/lighting").map((d) => [payload(d).job.id, payload(d).job.share]),
    [[lit, "lighting"]],
  );
  assert.equal(payload(forJob("/ci", shot)[0] as Delivery).job.share, "default");
  assert.ok(
    receiver.deliveries.every((d) => d.signed),
    "every delivery carries a valid signature",
  );

  const ok = payload(forJob("/ci", shot)[0] as Delivery);
  assert.equal(ok.event, "job.succeeded");
  assert.equal(ok.job.name, "shot 010");
  assert.equal(ok.job.submittedBy, "alice");
  assert.equal(ok.job.url, `http://farm.example:5000/jobs/${shot}`);
  const bad = forJob("/ci", comp)[0] as Delivery;
  assert.equal(payload(bad).event, "job.failed");
  assert.match(payload(bad).job.logTail, /no licence/);
  assert.equal(bad.headers["x-openhq-event"], "job");
  assert.ok(String(bad.headers["x-openhq-delivery"]).length > 0);

  const chat = answered("/chat");
  assert.equal(chat.length, 1, "only alice's shot* job goes to the chat hook");
  const text = (JSON.parse((chat[0] as Delivery).body) as { text: string }).text;
  assert.match(
    text,
    new RegExp(`<http://farm\\.example:5000/jobs/${shot}\\|${shot} shot 010> by alice succeeded`),
  );

  const config = await farm.py<unknown[]>(
    'out([hq.getConfig("openhq.webhooks.ci.url"), hq.getConfig("openhq.webhooks.chat.secret"), hq.getConfig("main.openhq.webhooks.chat.url")])',
  );
  assert.deepEqual(config, [null, null, null]);
  const metrics = await (await fetch(`${farm.url}/metrics`)).text();
  assert.match(metrics, /^openhq_notices_total\{kind="webhook",outcome="sent"\} [4-9]$/m);
  assert.match(metrics, /^openhq_webhook_deliveries_total\{hook="ci",outcome="sent"\} \d+$/m);
});

test("a receiver down for 20 s gets every notice once when it is back", async () => {
  await receiver.down();
  const downAt = Date.now();
  const ids = await farm.submit(
    ...Array.from({ length: 5 }, (_, i) => ({ name: `down ${i}`, command: "true" })),
  );
  for (const id of ids) await farm.finished(id);
  await new Promise((r) => setTimeout(r, Math.max(0, 20_000 - (Date.now() - downAt))));
  await receiver.up();
  await until(
    "every delivery",
    () => ids.filter((id) => forJob("/ci", id).length > 0).length,
    (n) => n === 5,
  );
  await outboxEmpty(farm);
  for (const id of ids) assert.equal(forJob("/ci", id).length, 1, `job ${id} delivered once`);
  const metrics = await (await fetch(`${farm.url}/metrics`)).text();
  assert.match(metrics, /^openhq_webhook_deliveries_total\{hook="ci",outcome="retry"\} [1-9]\d*$/m);
  assert.equal(await new Outbox(farm.redis, farm.keys).pending(), 0, "the outbox is empty");
  // The dashboard's Notices page lists the deliveries and the retries, by hook name, never its URL.
  const page = await (await fetch(`${farm.url}/notices`)).text();
  assert.match(page, /0 in the outbox/);
  assert.match(page, /<td>webhook<\/td>\s*<td>ci<\/td>/);
  assert.match(page, /<td>retry<\/td>/);
  assert.doesNotMatch(page, new RegExp(`127\\.0\\.0\\.1:${receiver.port}`));
});

test("two coordinators, one SIGKILLed while its deliveries are in flight: the other delivers each once", async () => {
  const redis = await startRedis();
  const prefix = "hooks2:";
  const iniFor = (name: string) =>
    writeIni(`${name}.ini`, [
      "openhq.notices.pollMs = 50",
      "openhq.notices.retryMs = 200",
      "openhq.notices.leaseSeconds = 2",
      ...hookLines("ci", {
        url: `http://127.0.0.1:${receiver.port}/${name}`,
        secret: SECRET,
        events: "cancelled",
      }),
    ]);
  const a = await startCoordinatorWithRedis({
    redisUrl: redis.url,
    args: ["--prefix", prefix, "--config", iniFor("a")],
  });
  let b: StartedCoordinator | null = null;
  try {
    receiver.hold.add("/a");
    // Jobs no client can take, cancelled through A: A records the notices, claims and sends them, and the
    // receiver holds each of A's requests unanswered.
    const ids = await a.submit(
      ...Array.from({ length: 6 }, (_, i) => ({ name: `kill ${i}`, command: "true", host: "nowhere" })),
    );
    await a.py(`out(hq.cancelJobs(${JSON.stringify(ids)}))`);
    await until(
      "A's six deliveries in flight",
      () => receiver.deliveries.filter((d) => d.path === "/a").length,
      (n) => n === 6,
    );
    b = await startCoordinatorWithRedis({
      redisUrl: redis.url,
      args: ["--prefix", prefix, "--config", iniFor("b")],
    });
    a.coordinator.process.kill("SIGKILL");
    await until(
      "B's deliveries",
      () => answered("/b").length,
      (n) => n >= 6,
    );
    // Once the outbox is empty (A's claims ended with their lease and went to B), nothing more can come.
    await outboxEmpty(b);
    const delivered = answered("/b").map((d) => payload(d).job.id);
    assert.deepEqual(
      [...delivered].sort((x, y) => x - y),
      [...ids].sort((x, y) => x - y),
      "each notice once",
    );
    assert.equal(answered("/a").length, 0);
    assert.ok(answered("/b").every((d) => d.signed && payload(d).event === "job.cancelled"));
  } finally {
    receiver.release();
    await b?.stop();
    await a.stop().catch(() => {});
    await redis.stop();
  }
});
