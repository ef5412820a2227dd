// Plain-text rendering for humans: aligned tables, dates, progress bars. `--json` bypasses all of this.

import type { XmlRpcValue } from "../shared/xmlrpc/types.js";
import type { Io } from "./commands.js";

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n") + "\n";
}

export function when(value: XmlRpcValue | undefined): string {
  return value instanceof Date ? value.toISOString().replace("T", " ").slice(0, 19) : "-";
}

export function percent(value: XmlRpcValue | undefined): string {
  return typeof value === "number" ? `${Math.round(value * 100)}%` : "-";
}

export function bar(fraction: number, width = 30): string {
  const f = Math.min(1, Math.max(0, fraction));
  const full = Math.round(f * width);
  return `[${"#".repeat(full)}${"-".repeat(width - full)}] ${(f * 100).toFixed(0).padStart(3)}%`;
}

/** JSON for scripts: dates as ISO strings, binary as base64, bigints as numbers when safe. */
export function toJson(value: unknown): string {
  return (
    JSON.stringify(
      value,
      function (this: Record<string, unknown>, key, v: unknown) {
        const raw = this[key];
        if (raw instanceof Date) return raw.toISOString();
        if (Buffer.isBuffer(raw)) return raw.toString("base64");
        if (typeof v === "bigint") return Number(v);
        return v;
      },
      2,
    ) + "\n"
  );
}

export function text(value: XmlRpcValue | undefined): string {
  if (value === null || value === undefined) return "-";
  if (value instanceof Date) return when(value);
  if (typeof value === "object" && !Buffer.isBuffer(value)) return JSON.stringify(value);
  return String(value);
}

/** A list command's output: `items` as JSON under --json, else a table of `headers` and one row per item. */
export function writeList<T>(
  io: Pick<Io, "json" | "out">,
  items: T[],
  headers: string[],
  row: (item: T) => string[],
): void {
  io.out.write(io.json ? toJson(items) : table(headers, items.map(row)));
}
