// HQueue's job mail on a real farm: a real coordinator and agent, jobs submitted through Python's
// xmlrpc.client, mail caught by a real SMTP server (test/support/mail-catcher.ts). emailReasons
// "succeeded,failed" mails once per matching transition with the job's fields; no emailReasons, no mail; a
// parent of 50 frames mails once; names and addresses cannot add headers; a flood of server errors is one
// digest to email_to.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { iniArgs } from "./support/farm-kit.js";
import { useOneAgentFarm } from "./support/one-agent-farm.js";
import { startMailCatcher, type CaughtMail, type MailCatcher } from "./support/mail-catcher.js";
import { until } from "./support/eventually.js";

let smtp: MailCatcher;
// The mail catcher starts in the farm's hook: its port goes in the coordinator's hqserver.ini.
const farm = useOneAgentFarm(async () => {
  smtp = await startMailCatcher();
  return {
    args: iniArgs(
      [
        "[main]",
        `smtp_server = 127.0.0.1:${smtp.port}`,
        "email_to = ops@example.com",
        "error_email_from = farm@example.com",
        "openhq.serverUrl = http://farm.example:5000",
        "openhq.notices.pollMs = 50",
        "openhq.notices.retryMs = 200",
        "openhq.notices.digestMinutes = 0.03",
      ].join("\n"),
    ),
  };
}, 4);
after(async () => {
  await smtp?.close();
});

const mailsTo = (address: string): CaughtMail[] => smtp.mails.filter((m) => m.to.includes(address));

/** The first mail to `address`, once it came. */
const firstMailTo = async (address: string): Promise<CaughtMail> =>
  (
    await until(
      `mail to ${address}`,
      () => mailsTo(address),
      (m) => m.length >= 1,
    )
  )[0] as CaughtMail;

test('emailReasons "succeeded,failed": one mail per matching transition, with the job\'s fields', async () => {
  const [ok, bad] = await farm.submit(
    {
      name: "comp v003",
      command: "echo rendering",
      submittedBy: "alice",
      emailTo: "alice@example.com",
      emailReasons: "succeeded,failed",
    },
    {
      name: "sim v001",
      command: "echo out of memory here; exit 3",
      submittedBy: "bob",
      emailTo: ["bob@example.com", "lead@example.com"],
      emailReasons: "succeeded, failed",
    },
  );
  await farm.finished(ok as number);
  await farm.finished(bad as number);
  const a = await firstMailTo("alice@example.com");
  const b = await firstMailTo("bob@example.com");
  // Time for a duplicate (a second transition's mail, a second send) to show.
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(mailsTo("alice@example.com").length, 1);
  assert.equal(mailsTo("bob@example.com").length, 1);
  assert.match(a.headers.get("subject") ?? "", new RegExp(`job ${ok} succeeded: comp v003`));
  assert.match(a.body, /Submitted by: alice/);
  assert.match(a.body, new RegExp(`Dashboard: +http://farm\\.example:5000/jobs/${ok}`));
  assert.match(a.body, new RegExp(`Id: +${ok}`));
  assert.deepEqual(b.to.sort(), ["bob@example.com", "lead@example.com"]);
  assert.match(b.headers.get("subject") ?? "", new RegExp(`job ${bad} failed: sim v001`));
  assert.match(b.body, /Status: +failed/);
  assert.match(b.body, /out of memory here/, "the failure's mail carries the last lines of the log");
});

test("no emailReasons (or no emailTo): no mail, and no notice in the outbox", async () => {
  const [quiet, noTo] = await farm.submit(
    { name: "no reasons", command: "true", emailTo: "carol@example.com" },
    { name: "no address", command: "true", emailReasons: "succeeded" },
  );
  await farm.finished(quiet as number);
  await farm.finished(noTo as number);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(mailsTo("carol@example.com").length, 0);
  assert.equal(await farm.redis.hexists(farm.keys.job(quiet as number), "mailOn"), 0);
});

test("a parent of 50 frames sends one mail, not 51, with the frame counts and the failed frames", async () => {
  const children = Array.from({ length: 50 }, (_, i) =>
    i === 7 ? { name: `frame ${i + 1}`, command: "exit 5" } : { name: `frame ${i + 1}`, command: "true" },
  );
  const [parent] = await farm.submit({
    name: "shot 010",
    submittedBy: "dave",
    emailTo: "dave@example.com",
    emailReasons: "succeeded,failed",
    children,
  });
  await farm.finished(parent as number);
  const mail = await firstMailTo("dave@example.com");
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(mailsTo("dave@example.com").length, 1);
  const body = mail.body;
  assert.match(body, /Status: +failed/);
  assert.match(body, /Frames: 50: /);
  assert.match(body, /49 succeeded/);
  assert.match(body, /1 failed/);
  assert.match(body, /frame 8: failed, exited with code 5/);
});

test("job names and addresses cannot add headers or recipients beyond the addresses given", async () => {
  const [id] = await farm.submit({
    name: "evil\r\nBcc: spy@example.com\r\nX-Injected: yes",
    command: "true",
    emailTo: "erin@example.com, <frank@example.com>, not-an-address, bad\r\n@x",
    emailReasons: "succeeded",
  });
  await farm.finished(id as number);
  const mail = await firstMailTo("erin@example.com");
  assert.deepEqual(mail.to.sort(), ["erin@example.com", "frank@example.com"]);
  assert.equal(mail.headers.has("bcc"), false);
  assert.equal(mail.headers.has("x-injected"), false);
  assert.doesNotMatch(mail.raw.split("\r\n\r\n")[0] ?? "", /^(Bcc|X-Injected):/im);
  assert.match(mail.headers.get("subject") ?? "", /evil Bcc: spy@example\.com X-Injected: yes/);
});

test("emailTo is bounded: too many addresses is a Fault, and nothing is created", async () => {
  const many = Array.from({ length: 51 }, (_, i) => `u${i}@example.com`).join(",");
  const result = await farm.py<{ faultString: string } | null>(
    `out(fault(hq.newjob, {"name": "too many", "command": "true", "emailTo": ${JSON.stringify(many)}, "emailReasons": "succeeded"}))`,
  );
  assert.match(result?.faultString ?? "", /emailTo: expected at most 50 addresses/);
});

test("a flood of server errors is one digest mail to email_to", async () => {
  const now = Date.now();
  const records = Array.from({ length: 500 }, (_, i) =>
    JSON.stringify({ message: `disk full on blade ${i}`, time: now }),
  );
  await farm.redis.lpush(farm.keys.serverErrors, ...records);
  const d = await firstMailTo("ops@example.com");
  // Two more periods (1.8 s each): no second digest, as no new error came.
  await new Promise((r) => setTimeout(r, 4000));
  assert.equal(mailsTo("ops@example.com").length, 1);
  assert.equal(d.from, "farm@example.com");
  assert.match(d.headers.get("subject") ?? "", /200\+ server error/);
  assert.match(d.body, /disk full on blade 499/);
});
