// One event, one line: text bound for a log line or an error record has its control characters escaped, so
// a client-chosen name (a hostname in a refused hello, a user name) cannot start a forged line, rewrite the
// terminal, or reorder what a reader sees (line separators, bidirectional overrides).

// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Readonly<Record<string, string>> = { "\n": "\\n", "\r": "\\r" };

/** `text` with every control character but tab written as an escape (`\n`, `\r`, `\u001b`…). */
export function oneLine(text: string): string {
  CONTROL.lastIndex = 0;
  if (!CONTROL.test(text)) return text;
  return text.replace(CONTROL, (ch) => NAMED[ch] ?? `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
