// The agent's log: one line per event, to stderr and, when configured, appended to a file. Cloud autoscaling
// scripts grep the file for `Running job <id>`, `Finished job <id>` and `Cancelling job <id>` (docs/COMPAT.md §7), so
// those exact words must stay. One event is one line: control characters in a message are escaped.

import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { oneLine } from "../shared/log-line.js";

export type LogLevel = "INFO" | "WARN" | "ERROR";

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export function createLogger(file: string | null, echo = true): Logger {
  if (file !== null) mkdirSync(dirname(file), { recursive: true });
  const write = (level: LogLevel, message: string): void => {
    const line = `${new Date().toISOString()} ${level} ${oneLine(message)}\n`;
    // Synchronous so the lines are on disk in order even if the agent is killed right after.
    if (file !== null) {
      try {
        appendFileSync(file, line);
      } catch {
        // A full or vanished disk must not stop jobs; stderr still has the line.
      }
    }
    if (echo) process.stderr.write(line);
  };
  return {
    info: (m) => write("INFO", m),
    warn: (m) => write("WARN", m),
    error: (m) => write("ERROR", m),
  };
}
