// The syntax of availability rules (docs/COMPAT.md §7), one copy for the coordinator (which checks what
// setAvailabilityRules is given) and the agent (which checks what reaches it over the link or from disk, and
// evaluates the rules: agent/availability.ts). The rule shapes are in shared/protocol.ts.
//
// Times are "HH:MM", 00:00 to 23:59, hours with one or two digits. "24:00" means the end of the day and is
// accepted as a window's END only (HQueue's own UI offers it there): 22:00–24:00 is the last two hours of a
// day, and 00:00–24:00 the whole day, like 00:00–00:00. A window cannot START at 24:00 (that is 00:00 of the
// next day, which belongs to the next day's rules). (decision)

/** Which end of a window a time is. */
export type WindowEnd = "start" | "end";

/** Minutes after midnight of an availability time (24:00 = 1440, as an end only); null when malformed. */
export function clockMinutes(text: string, end: WindowEnd): number | null {
  if (end === "end" && text === "24:00") return 24 * 60;
  const match = /^(\d{1,2}):([0-5]\d)$/.exec(text);
  if (!match) return null;
  const hours = Number(match[1]);
  return hours > 23 ? null : hours * 60 + Number(match[2]);
}

/** What a malformed time of that end should have been, for error messages. */
export function clockExpected(end: WindowEnd): string {
  return end === "end"
    ? "expected HH:MM (00:00 to 23:59, or 24:00 for the end of the day)"
    : "expected HH:MM";
}

/** Whether n is a day of a window's `days`: 0 = Sunday … 6 = Saturday. */
export function isWeekday(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 6;
}
