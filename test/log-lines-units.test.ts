// The log viewer's reading by lines (coordinator/logs/lines.ts) over a 10 MB log in memory: pages keep line
// numbers and offsets exact forwards and backwards, a line's offset and an offset's line agree, a search
// finds lines across its 4 MB reads (a match on the line that straddles a read boundary included) and pages
// with a cursor that resumes exactly, and a span reader joins the file part with the chunks Redis holds.

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  lineAt,
  MAX_MATCHES,
  offsetOfLine,
  PAGE_LINES,
  pageAt,
  pageBefore,
  search,
  spanReader,
  type ReadSpan,
} from "../coordinator/logs/lines.js";
import type { LogView } from "../coordinator/store/logs.js";

const LINES = 200_000;
const text = (n: number) => (n % 500 === 0 ? `hit ${n} here` : `line ${n} ${"x".repeat(n % 90)}`);
const lines = Array.from({ length: LINES }, (_, i) => text(i + 1));
const log = Buffer.from(lines.join("\n") + "\n");
const offsets: number[] = [];
lines.reduce((at, l) => (offsets.push(at), at + Buffer.byteLength(l) + 1), 0);
const read: ReadSpan = (from, length) =>
  Promise.resolve(log.subarray(from, Math.min(log.length, from + length)));

test("pages forwards and backwards keep line numbers and offsets exact", async () => {
  const head = await pageAt(read, 0, 1);
  assert.equal(head.lines.length, PAGE_LINES);
  assert.deepEqual(head.lines[0], { number: 1, offset: 0, text: lines[0] });
  const next = await pageAt(read, head.next, head.nextLine);
  assert.deepEqual(next.lines[0], {
    number: PAGE_LINES + 1,
    offset: offsets[PAGE_LINES],
    text: lines[PAGE_LINES],
  });
  const back = await pageBefore(read, next.from, next.lines[0]?.number ?? null);
  assert.deepEqual(back.lines[0], head.lines[0]);
  const tail = await pageBefore(read, log.length, await lineAt(read, log.length));
  const last = tail.lines.at(-1);
  assert.deepEqual(last, { number: LINES, offset: offsets[LINES - 1], text: lines[LINES - 1] });
});

test("offset of a line and line of an offset agree", async () => {
  for (const n of [1, 2, 999, 123_457, LINES]) {
    const offset = await offsetOfLine(read, n);
    assert.equal(offset, offsets[n - 1], `line ${n}`);
    assert.equal(await lineAt(read, offset ?? 0), n);
  }
  assert.equal(await offsetOfLine(read, LINES + 5), null);
});

test("search finds every matching line across reads and resumes from its cursor", async () => {
  const expected = lines.map((l, i) => (l.includes("hit ") ? i + 1 : 0)).filter((n) => n > 0);
  const found: number[] = [];
  let cursor: { offset: number; line: number } | null = { offset: 0, line: 1 };
  let pages = 0;
  while (cursor) {
    const page = await search(read, log.length, "hit ", cursor.offset, cursor.line);
    for (const m of page.matches) {
      assert.equal(m.offset, offsets[m.line - 1]);
      assert.equal(m.text, lines[m.line - 1]);
      assert.equal(m.at, 0);
    }
    found.push(...page.matches.map((m) => m.line));
    cursor = page.next;
    pages++;
  }
  assert.deepEqual(found, expected);
  assert.ok(expected.length > MAX_MATCHES && pages > 1, `${expected.length} matches in ${pages} pages`);
  // A line that straddles the first 4 MB read: found whole.
  const boundary = offsets.findIndex((o) => o > 4 * 2 ** 20) - 1;
  const needle = lines[boundary] ?? "";
  const page = await search(read, log.length, needle, 0, 1);
  assert.ok(
    page.matches.some((m) => m.line === boundary + 1),
    `line ${boundary + 1} across the read boundary`,
  );
});

test("a span reader joins the committed file part and the chunks still in Redis", async () => {
  const base = 3 * 2 ** 20 + 17;
  const view = {
    jobId: 1,
    attempt: 1,
    kind: "live",
    bytes: log.length,
    base,
    z: 0,
    n: 0,
    cut: -1,
    sha256: "",
    from: base,
    chunks: [log.subarray(base, base + 1000), log.subarray(base + 1000)],
  } satisfies LogView;
  const span = spanReader(view, (from, length) =>
    Promise.resolve(log.subarray(from, Math.min(base, from + length))),
  );
  assert.deepEqual(await span(base - 10, 2000), log.subarray(base - 10, base + 1990));
  assert.deepEqual(await span(base + 500, 1000), log.subarray(base + 500, base + 1500));
  assert.deepEqual(await span(0, 100), log.subarray(0, 100));
  assert.equal((await span(log.length, 10)).length, 0);
});
