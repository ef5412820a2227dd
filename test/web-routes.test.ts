// Dashboard routes without a browser, on a real coordinator: the styled 404, the output download, the jobs
// list sorted by name, the frame-id list the bulk bar uses, units on a client's values, and the search's
// jump to an id.

import { test } from "node:test";
import assert from "node:assert/strict";
import { oneAgentFarm } from "./support/one-agent-farm.js";

test("404 page, output download, sort by name, frames.json, units, jump to id", async (t) => {
  const { coordinator, hq } = await oneAgentFarm(t);
  const u = coordinator.url;

  for (const path of ["/no/such/page", "/jobs/424242"]) {
    const res = await fetch(u + path);
    assert.equal(res.status, 404, path);
    const body = await res.text();
    assert.match(body, /<h1>Not found<\/h1>/, path);
    assert.match(body, /\/static\/style\.css/, `${path}: the styled layout`);
  }

  const [echo] = await hq.newjob({ name: "b echo", command: "echo hello download" });
  await hq.waitFor([echo as number], ["succeeded"], [], { pollMs: 100, timeoutMs: 30_000 });
  const download = await fetch(`${u}/jobs/${echo}/log`);
  assert.equal(download.status, 200);
  assert.match(
    download.headers.get("content-disposition") ?? "",
    /attachment; filename="job-\d+-attempt-1\.log"/,
  );
  assert.match(await download.text(), /hello download/);
  assert.match(
    await (await fetch(`${u}/jobs/${echo}`)).text(),
    new RegExp(`href="/jobs/${echo}/log"`),
  );

  await hq.newjob([
    { name: "c waits", command: "true", host: "nowhere" },
    { name: "a waits", command: "true", host: "nowhere" },
  ]);
  const sorted = await (await fetch(`${u}/jobs?status=all&sort=name`)).text();
  const names = [...sorted.matchAll(/<td class="name">\s*<a href="\/jobs\/\d+">([^<]+)<\/a>/g)].map(
    (m) => m[1],
  );
  assert.deepEqual(names, ["a waits", "b echo", "c waits"]);

  const ids = await hq.newjob({
    name: "frames",
    children: [
      { name: "f1", command: "true", host: "nowhere" },
      { name: "f2", command: "true", host: "nowhere" },
    ],
  });
  const kids = (await hq.getJob(ids[0] as number, ["children"])).children;
  await hq.cancelJobs([kids[1] as number]);
  const json = (await (await fetch(`${u}/jobs/${ids[0]}/frames.json?status=cancelled`)).json()) as {
    ids: number[];
  };
  assert.deepEqual(json.ids, [kids[1]]);

  const [client] = await hq.getClients(null, ["id"]);
  const page = await (await fetch(`${u}/clients/${client?.id}`)).text();
  assert.match(page, /\d+(\.\d)? GiB/, "memory with its unit");

  const jump = await fetch(`${u}/search?q=%23${echo}`, { redirect: "manual" });
  assert.equal(jump.status, 302);
  assert.equal(jump.headers.get("location"), `/jobs/${echo}`);
});
