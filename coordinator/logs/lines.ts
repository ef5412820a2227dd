// Reading a job log by lines for the log viewer: a page of lines from a byte offset (head, a range, the
// tail), the line a byte offset is on, and a search. Each reads the log in CHUNK_BYTES pieces (a piece of the
// file costs inflating the gzip members it touches: files.ts), never the whole log, and every scan has a
// byte and time bound: a search answers the matches it found and a cursor to go on from.

import type { LogView } from "../store/logs.js";

const NEWLINE = 0x0a;
/** Bytes read at a time by a scan. */
const CHUNK_BYTES = 2 * 1024 * 1024;
/** The most bytes of one page of lines. */
export const PAGE_BYTES = 256 * 1024;
/** The most lines of one page. */
export const PAGE_LINES = 1000;
/** The most bytes one scan (a search page, counting lines up to an offset) reads, and how long it may run. */
export const SCAN_BYTES = 256 * 1024 * 1024;
export const SCAN_MS = 700;
/** Matches one search page answers at most. */
export const MAX_MATCHES = 200;
/** A matching line is shown cut to this many bytes around the match. */
const MATCH_LINE_BYTES = 400;

/**
 * The time bound of one scan: a step (a read and its work) starts only while one as slow as the slowest so
 * far still ends within SCAN_MS, so a scan on a loaded machine stops before its bound, not a step after it.
 */
class ScanClock {
  private readonly deadline = performance.now() + SCAN_MS;
  private last: number | null = null;
  private slowest = 0;

  /** Call before each step: whether it may start. */
  another(): boolean {
    const now = performance.now();
    if (this.last !== null) this.slowest = Math.max(this.slowest, now - this.last);
    this.last = now;
    return now + this.slowest <= this.deadline;
  }
}

/** Reads bytes [from, from + length) of the log (fewer at its end). */
export type ReadSpan = (from: number, length: number) => Promise<Buffer>;

/** A span reader over a view: the file part through `readFile`, the chunks Redis still holds from memory. */
export function spanReader(
  view: LogView,
  readFile: (from: number, length: number) => Promise<Buffer>,
): ReadSpan {
  const held = Buffer.concat(view.chunks);
  return async (from, length) => {
    const end = Math.min(view.bytes, from + length);
    if (from >= end) return Buffer.alloc(0);
    const parts: Buffer[] = [];
    if (from < view.from) parts.push(await readFile(from, Math.min(end, view.from) - from));
    if (end > view.from) parts.push(held.subarray(Math.max(from, view.from) - view.from, end - view.from));
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  };
}

function countNewlines(buf: Buffer, start = 0, end = buf.length): number {
  let n = 0;
  for (let i = buf.indexOf(NEWLINE, start); i >= 0 && i < end; i = buf.indexOf(NEWLINE, i + 1)) n++;
  return n;
}

export interface Line {
  /** 1-based; null when the page's start line is not known. */
  number: number | null;
  offset: number;
  text: string;
}

export interface LinePage {
  lines: Line[];
  /** Byte offset where the page starts and where the next one begins (= total bytes at the end). */
  from: number;
  next: number;
  /** The line number at `next` (null when unknown). */
  nextLine: number | null;
}

/**
 * Up to PAGE_LINES lines (PAGE_BYTES at most) starting at byte `from`, which is `line` (null: unknown). A
 * line longer than a page is cut at the page's end and goes on on the next.
 */
export async function pageAt(read: ReadSpan, from: number, line: number | null): Promise<LinePage> {
  const buf = await read(from, PAGE_BYTES);
  const lines: Line[] = [];
  let at = 0;
  while (at < buf.length && lines.length < PAGE_LINES) {
    const nl = buf.indexOf(NEWLINE, at);
    // The page's last, cut line is shown only when nothing else fits (a line longer than a page).
    if (nl < 0 && buf.length === PAGE_BYTES && lines.length > 0) break;
    const end = nl < 0 ? buf.length : nl;
    lines.push({
      number: line === null ? null : line + lines.length,
      offset: from + at,
      text: buf.subarray(at, end).toString("utf8"),
    });
    at = nl < 0 ? buf.length : nl + 1;
  }
  const ended = countNewlines(buf, 0, at);
  return { lines, from, next: from + at, nextLine: line === null ? null : line + ended };
}

/**
 * The page that ends at byte `before` (the one before a page starting there): it starts at a line start at
 * most PAGE_BYTES earlier. `line` is the line number at `before`.
 */
export async function pageBefore(read: ReadSpan, before: number, line: number | null): Promise<LinePage> {
  const start = Math.max(0, before - PAGE_BYTES);
  const buf = await read(start, before - start);
  let at = 0;
  if (start > 0) {
    const nl = buf.indexOf(NEWLINE);
    at = nl < 0 ? 0 : nl + 1;
  }
  // At most PAGE_LINES lines: skip the oldest beyond that.
  let lines = countNewlines(buf, at);
  for (; lines > PAGE_LINES; lines--) at = buf.indexOf(NEWLINE, at) + 1;
  const first = line === null ? null : line - lines;
  return pageAt(read, start + at, first);
}

/** Line number of byte `offset` (1 = the first line), counted within the scan bounds; null past them. */
export async function lineAt(read: ReadSpan, offset: number): Promise<number | null> {
  if (offset > SCAN_BYTES) return null;
  const clock = new ScanClock();
  let lines = 1;
  for (let at = 0; at < offset; at += CHUNK_BYTES) {
    if (!clock.another()) return null;
    const buf = await read(at, Math.min(CHUNK_BYTES, offset - at));
    if (buf.length === 0) break;
    lines += countNewlines(buf);
  }
  return lines;
}

/** Byte offset where line `line` starts, or null when it lies past the scan bounds or the log's end. */
export async function offsetOfLine(read: ReadSpan, line: number): Promise<number | null> {
  if (line <= 1) return 0;
  const clock = new ScanClock();
  let seen = 1;
  for (let at = 0; at < SCAN_BYTES && clock.another(); at += CHUNK_BYTES) {
    const buf = await read(at, CHUNK_BYTES);
    for (let i = buf.indexOf(NEWLINE); i >= 0; i = buf.indexOf(NEWLINE, i + 1))
      if (++seen === line) return at + i + 1;
    if (buf.length < CHUNK_BYTES) return null;
  }
  return null;
}

export interface Match {
  line: number;
  offset: number;
  /** The matching line (cut around the match when long) and where the match is in it. */
  text: string;
  at: number;
}

export interface SearchPage {
  matches: Match[];
  /** Where to go on (a byte offset at a line start, and its line number), or null at the log's end. */
  next: { offset: number; line: number } | null;
  scanned: number;
}

/**
 * Lines holding `needle` (exact bytes, case-sensitive) from byte `from` (line `line`), at most MAX_MATCHES,
 * SCAN_BYTES read and SCAN_MS spent; `next` says where a following search page starts.
 */
export async function search(
  read: ReadSpan,
  total: number,
  needle: string,
  from: number,
  line: number,
): Promise<SearchPage> {
  const pattern = Buffer.from(needle, "utf8");
  const clock = new ScanClock();
  const matches: Match[] = [];
  let at = from;
  let lineNo = line;
  while (at < total) {
    if (at - from >= SCAN_BYTES || matches.length >= MAX_MATCHES || !clock.another())
      return { matches, next: { offset: at, line: lineNo }, scanned: at - from };
    const raw = await read(at, CHUNK_BYTES);
    if (raw.length === 0) break;
    // Whole lines only, so a line (and a match in it) is never split between two reads; a line longer than a
    // read is split anyway.
    const lastNl = raw.lastIndexOf(NEWLINE);
    const buf = at + raw.length < total && lastNl >= 0 ? raw.subarray(0, lastNl + 1) : raw;
    let counted = 0;
    let countedLines = 0;
    for (let hit = buf.indexOf(pattern); hit >= 0;) {
      countedLines += countNewlines(buf, counted, hit);
      counted = hit;
      const start = buf.lastIndexOf(NEWLINE, hit - 1) + 1;
      const nl = buf.indexOf(NEWLINE, hit);
      const end = nl < 0 ? buf.length : nl;
      const cutStart = Math.max(start, hit - MATCH_LINE_BYTES / 2);
      const cutEnd = Math.min(end, cutStart + MATCH_LINE_BYTES);
      matches.push({
        line: lineNo + countedLines,
        offset: at + start,
        text: buf.subarray(cutStart, cutEnd).toString("utf8"),
        at: buf.subarray(cutStart, hit).toString("utf8").length,
      });
      if (matches.length >= MAX_MATCHES) {
        const after = nl < 0 ? buf.length : nl + 1;
        return {
          matches,
          next: at + after < total ? { offset: at + after, line: lineNo + countedLines + 1 } : null,
          scanned: at + after - from,
        };
      }
      // One match a line: go on at the next line.
      hit = nl < 0 ? -1 : buf.indexOf(pattern, nl + 1);
    }
    lineNo += countNewlines(buf);
    at += buf.length;
  }
  return { matches, next: null, scanned: at - from };
}
