// The dashboard's server side over plain HTTP: paging, filters, child rows, the htmx fragments, assets,
// and how unknown pages and jobs answer. (The browser behaviour is in web-dashboard.test.ts.)

import { test } from "node:test";
import assert from "node:assert/strict";
import { type JobSpec } from "../shared/client/index.js";
import { agentlessFarm } from "./support/one-agent-farm.js";

const rows = (html: string) =>
  [...html.matchAll(/<tr\s+class="job[^"]*"\s+data-id="(\d+)"/g)].map((m) => Number(m[1]));

test("jobs pages: server-side paging, status/name/submitter filters, child rows, fragments and assets", async (t) => {
  const { coordinator, hq } = await agentlessFarm(t);
  const specs: JobSpec[] = [];
  for (let i = 1; i <= 120; i++) {
    specs.push({
      name: i === 77 ? "special <b>shot</b>" : `render ${i}`,
      submittedBy: i % 4 === 0 ? "anna" : "ben",
      command: "true", // no agent: stays waiting for a machine
    });
  }
  specs.push({
    name: "parent",
    submittedBy: "ben",
    children: [
      { name: "kid one", command: "true" },
      { name: "kid two", command: "true" },
    ],
  });
  const ids = await hq.newjob(specs);
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(coordinator.url + path, { headers });
    return { status: res.status, type: res.headers.get("content-type") ?? "", body: await res.text() };
  };

  const first = await get("/jobs?per=25");
  assert.equal(first.status, 200);
  assert.match(first.type, /^text\/html/);
  assert.equal(rows(first.body).length, 25);
  assert.match(first.body, /121 jobs · page 1 of 5/);
  assert.equal(rows(first.body)[0], Math.max(...ids.slice(0, 121)), "newest first");
  const last = await get("/jobs?per=25&page=5");
  assert.equal(rows(last.body).length, 21);
  assert.equal(
    (await get("/jobs?per=25&page=99")).body.match(/page 5 of 5/)?.length,
    1,
    "a page past the end shows the last",
  );

  const named = await get(`/jobs?name=${encodeURIComponent("SPECIAL")}`);
  assert.deepEqual(rows(named.body), [ids[76]]);
  assert.match(named.body, /special &#60;b&#62;shot&#60;\/b&#62;/, "names are escaped");
  assert.equal(rows((await get("/jobs?submitter=anna&per=200")).body).length, 30);
  assert.equal(rows((await get("/jobs?status=queued")).body).length, 1, "only the parent waits for children");
  assert.equal(rows((await get("/jobs?status=finished")).body).length, 0);

  const parentId = ids[120] ?? 0;
  const kids = await get(`/jobs/${parentId}/children?depth=1`, { "hx-request": "true" });
  assert.deepEqual(rows(kids.body), ids.slice(121));
  assert.doesNotMatch(kids.body, /<html/, "a fragment, not a page");
  const fragment = await get("/jobs?per=25", { "hx-request": "true" });
  assert.match(fragment.body, /^<div\s+id="jobs-table"/);

  const job = await get(`/jobs/${ids[0]}`);
  assert.equal(job.status, 200);
  assert.match(job.body, /id="output" data-job="\d+"/);
  assert.equal((await get("/jobs/999999")).status, 404);
  assert.equal((await get("/nope")).status, 404);
  assert.equal((await get("/")).status, 200, "/ redirects to /jobs");

  const htmx = await fetch(`${coordinator.url}/static/htmx.min.js`, {
    headers: { "accept-encoding": "gzip" },
  });
  assert.equal(htmx.status, 200);
  assert.match(htmx.headers.get("content-type") ?? "", /javascript/);
  assert.match(await htmx.text(), /htmx/);
  const head = await fetch(`${coordinator.url}/jobs`, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), "");
});
