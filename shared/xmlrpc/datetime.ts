// dateTime.iso8601 values. Python's xmlrpc.client writes and parses naive "YYYYMMDDTHH:MM:SS" (strftime
// "%Y%m%dT%H:%M:%S"); openhq times are UTC, so a Date goes out as its UTC fields in exactly that form.
// On input we also accept the dashed ISO form, fractional seconds and a trailing Z or offset, which other
// XML-RPC libraries send.

const PATTERN =
  /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):?(\d{2}):?(\d{2})(?:[.,](\d+))?(?:(Z)|([+-])(\d{2}):?(\d{2}))?$/;

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

/** The Python form of a Date, from its UTC fields. Throws for an invalid Date. */
export function formatDateTime(date: Date): string {
  const ms = date.getTime();
  if (Number.isNaN(ms)) throw new TypeError("cannot encode an invalid Date");
  return (
    pad(date.getUTCFullYear(), 4) +
    pad(date.getUTCMonth() + 1, 2) +
    pad(date.getUTCDate(), 2) +
    "T" +
    pad(date.getUTCHours(), 2) +
    ":" +
    pad(date.getUTCMinutes(), 2) +
    ":" +
    pad(date.getUTCSeconds(), 2)
  );
}

/** A Date from any accepted form (naive = UTC), or undefined when the text is not a valid date and time. */
export function parseDateTime(text: string): Date | undefined {
  const m = PATTERN.exec(text.trim());
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = m[7] === undefined ? 0 : Math.floor(Number(`0.${m[7]}`) * 1000);
  // Date.UTC rolls "month 13" over into the next year; compare the fields back to refuse such input.
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second, ms));
  date.setUTCFullYear(year);
  if (
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day ||
    date.getUTCHours() !== hour ||
    date.getUTCMinutes() !== minute ||
    date.getUTCSeconds() !== second
  )
    return undefined;
  if (m[9] !== undefined) {
    const offsetMinutes = (Number(m[10]) * 60 + Number(m[11])) * (m[9] === "-" ? -1 : 1);
    date.setTime(date.getTime() - offsetMinutes * 60_000);
  }
  return date;
}
