// Finds `PROGRESS: <done>/<total>` and `ALF_PROGRESS <n>%` lines in a job's output (docs/COMPAT.md §7). Output comes
// in arbitrary pieces, so the unfinished last line is carried over to the next piece.

const MAX_CARRY = 1024;
const PROGRESS_LINE = /PROGRESS:\s*(\d+(?:\.\d+)?)\s*\/\s*(\d+(?:\.\d+)?)/;
const ALF_LINE = /ALF_PROGRESS\s+(\d+(?:\.\d+)?)\s*%/;

export class ProgressParser {
  private carry = "";
  private value: number | null = null;

  /** Feeds raw output; returns the latest progress (0..1) when these bytes set one, else null. */
  feed(data: Buffer): number | null {
    // latin1 keeps one char per byte: cheap, and the markers are ASCII.
    const text = this.carry + data.toString("latin1");
    const lastNewline = text.lastIndexOf("\n");
    this.carry = text.slice(lastNewline + 1).slice(-MAX_CARRY);
    if (lastNewline < 0 || text.lastIndexOf("PROGRESS", lastNewline) < 0) return null;
    let found: number | null = null;
    for (const line of text.slice(0, lastNewline).split("\n")) {
      if (!line.includes("PROGRESS")) continue;
      const parsed = parseLine(line);
      if (parsed !== null) found = parsed;
    }
    if (found === null || found === this.value) return null;
    this.value = found;
    return found;
  }

  /** The last line when the output ends without a newline. */
  end(): number | null {
    const parsed = this.carry.includes("PROGRESS") ? parseLine(this.carry) : null;
    this.carry = "";
    if (parsed === null || parsed === this.value) return null;
    this.value = parsed;
    return parsed;
  }
}

export function parseLine(line: string): number | null {
  const alf = ALF_LINE.exec(line);
  if (alf?.[1] !== undefined) return clamp(Number(alf[1]) / 100);
  const plain = PROGRESS_LINE.exec(line);
  if (plain?.[1] !== undefined && plain[2] !== undefined) {
    const total = Number(plain[2]);
    return total > 0 ? clamp(Number(plain[1]) / total) : null;
  }
  return null;
}

function clamp(value: number): number {
  return Math.min(1, Math.max(0, value));
}
