// The log viewer (issue 20 item 6) on a 57 MB log a real agent wrote, in a real browser: the head with line
// numbers, a server-side search (followed page by page to the log's end) whose matches carry their line
// numbers and link to their line with the text marked, a line range by number, and the tail. The coordinator
// reads only the pages' bytes (logs/lines.ts): its memory does not grow by the log's size.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { browser, skippedWithoutChromium } from "./support/browser.js";
import { oneAgentFarm } from "./support/one-agent-farm.js";
import { until } from "./support/eventually.js";

const SHOTS = "/work/notes/shots";
const LINES = 1_000_000;
/** Lines that say ERROR instead of their frame line. */
const ERRORS = [654_321, 999_999];

/** Resident memory of a process, bytes. */
function rss(pid: number): number {
  if (pid === 0) return 0;
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? 0) * 1024;
}

test("log viewer: head with line numbers, search, a line range and the tail of a 57 MB log", async (t) => {
  if (skippedWithoutChromium(t)) return;
  const { coordinator, hq } = await oneAgentFarm(t, 1);
  const errors = ERRORS.map((n) => `i==${n}`).join("||");
  const [id] = await hq.newjob({
    name: "big log",
    command:
      `awk 'BEGIN{for(i=1;i<=${LINES};i++){if(${errors}) printf "ERROR: texture missing at line %d\\n", i;` +
      ` else printf "frame %07d sample %02d rays %06d padding............\\n", i, i%97, (i*7)%100003}}'`,
  });
  const job = id ?? 0;
  await until(
    "the job to finish",
    () => hq.getstatus(job),
    (s) => s === "succeeded",
  );
  const total = Number(
    (await fetch(`${coordinator.url}/jobs/${job}/log`, { method: "HEAD" })).headers.get("x-log-bytes"),
  );
  assert.ok(total > 50 * 2 ** 20, `log of ${total} bytes`);

  mkdirSync(SHOTS, { recursive: true });
  const context = await browser(t);
  const page = await context.newPage();
  const pid = coordinator.process.pid ?? 0;
  const before = rss(pid);
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rss(pid))), 20);
  t.after(() => clearInterval(sampler));

  // The head: lines 1 to 1000, numbered.
  let start = performance.now();
  await page.goto(`${coordinator.url}/jobs/${job}/log/view`);
  const headMs = performance.now() - start;
  const rows = page.locator("table.log-lines tr");
  assert.equal(await rows.count(), 1000);
  assert.equal(await page.locator("#L1 td.ln").innerText(), "1");
  assert.match(await page.locator("#L1 td.lt").innerText(), /^frame 0000001 sample 01 /);
  assert.match(await page.locator("#L1000 td.lt").innerText(), /^frame 0001000 /);
  await page.screenshot({ path: `${SHOTS}/log-viewer-head.png` });

  // The search, from the form: its pages followed to the end of the log.
  start = performance.now();
  await page.fill('.log-search input[name="q"]', "ERROR");
  await page.click(".log-search button");
  await page.locator(".log-summary").waitFor();
  const searchMs = performance.now() - start;
  const found: number[] = [];
  const links = new Map<number, string>();
  for (;;) {
    const matches = await page
      .locator("tr.match")
      .evaluateAll((trs) =>
        trs.map(
          (tr) =>
            [
              Number(tr.getAttribute("data-line")),
              tr.querySelector("a")?.getAttribute("href") ?? "",
            ] as const,
        ),
      );
    for (const [line, href] of matches) {
      found.push(line);
      links.set(line, href);
    }
    const more = page.locator('.log-summary a[rel="next"]');
    if ((await more.count()) === 0) break;
    await more.click();
    await page.locator(".log-summary").waitFor();
  }
  assert.deepEqual(found, ERRORS);
  await page.goto(`${coordinator.url}/jobs/${job}/log/view?q=ERROR`);
  await page.screenshot({ path: `${SHOTS}/log-viewer-search.png` });

  // A match links to its line (by its offset: no scan): that page starts there, with the text marked.
  await page.goto(`${coordinator.url}${links.get(ERRORS[0] ?? 0)}`);
  assert.equal(await page.locator(`#L${ERRORS[0]} td.lt mark`).innerText(), "ERROR");
  assert.match(await page.locator(`#L${(ERRORS[0] ?? 0) + 1} td.lt`).innerText(), /^frame 0654322 /);
  await page.screenshot({ path: `${SHOTS}/log-viewer-match.png` });
  // Its previous page ends just before it.
  await page.click('.pager a[rel="prev"]');
  await page.locator(`#L${(ERRORS[0] ?? 0) - 1}`).waitFor();
  assert.match(await page.locator(`#L${(ERRORS[0] ?? 0) - 1} td.lt`).innerText(), /^frame 0654320 /);

  // The tail: the last line of the log is on it.
  await page.goto(`${coordinator.url}/jobs/${job}/log/view?tail=1`);
  assert.match(await rows.last().locator("td.lt").innerText(), /^frame 1000000 /);

  clearInterval(sampler);
  const grown = peak - before;
  t.diagnostic(
    `log ${(total / 2 ** 20).toFixed(1)} MiB: head page ${headMs.toFixed(0)} ms, first search page ${searchMs.toFixed(0)} ms, coordinator RSS peak +${(grown / 2 ** 20).toFixed(1)} MiB`,
  );
  assert.ok(grown < total / 2, `coordinator RSS peaked ${grown} bytes higher for a ${total}-byte log`);
});
