// Availability rules (docs/COMPAT.md §7): the client is available when ANY rule holds; no rules = always available.
// Windows are in the agent's local time; a window whose start is after its end wraps past midnight and
// belongs to the day it starts on (Friday 22:00–06:00 covers Saturday 03:00). The syntax of times and days,
// shared with the coordinator, is in shared/availability.ts.

import { clockExpected, clockMinutes, isWeekday, type WindowEnd } from "../shared/availability.js";
import type { AvailabilityRule, AvailabilityWindow } from "../shared/protocol.js";

export function isAvailable(rules: readonly AvailabilityRule[], now: Date, idleMinutes: number): boolean {
  if (rules.length === 0) return true;
  return rules.some((rule) => {
    switch (rule.type) {
      case "anytime":
        return true;
      case "idle":
        return idleMinutes >= 0 && idleMinutes >= rule.minutes;
      case "window":
        return inWindow(rule, now);
    }
  });
}

function inWindow(rule: AvailabilityWindow, now: Date): boolean {
  const start = minutesOf(rule.start, "start");
  const end = minutesOf(rule.end, "end");
  const minute = now.getHours() * 60 + now.getMinutes();
  const today = now.getDay();
  const onDay = (day: number): boolean => !rule.days || rule.days.length === 0 || rule.days.includes(day);
  if (start === end) return onDay(today); // the whole day
  if (start < end) return onDay(today) && minute >= start && minute < end;
  // Wraps: the evening part belongs to today, the morning part to yesterday's window.
  if (minute >= start) return onDay(today);
  return minute < end && onDay((today + 6) % 7);
}

/** An availability time -> minutes after midnight (shared/availability.ts); throws on a malformed one. */
function minutesOf(text: string, end: WindowEnd): number {
  const minutes = clockMinutes(text, end);
  if (minutes === null) throw new Error(`availability ${end} ${JSON.stringify(text)}: ${clockExpected(end)}`);
  return minutes;
}

/** Checks rules that came over the wire or from disk; returns the valid ones and what was wrong. */
export function validRules(input: unknown): { rules: AvailabilityRule[]; problems: string[] } {
  const rules: AvailabilityRule[] = [];
  const problems: string[] = [];
  for (const item of Array.isArray(input) ? input : []) {
    const rule = item as Partial<Omit<AvailabilityWindow, "type">> & { type?: string; minutes?: unknown };
    try {
      if (rule.type === "anytime") rules.push({ type: "anytime" });
      else if (rule.type === "idle" && typeof rule.minutes === "number" && rule.minutes >= 0) {
        rules.push({ type: "idle", minutes: rule.minutes });
      } else if (rule.type === "window" && typeof rule.start === "string" && typeof rule.end === "string") {
        minutesOf(rule.start, "start");
        minutesOf(rule.end, "end");
        const days = Array.isArray(rule.days) ? rule.days.filter(isWeekday) : [];
        rules.push({ type: "window", days, start: rule.start, end: rule.end });
      } else throw new Error(`unknown rule ${JSON.stringify(item)}`);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  return { rules, problems };
}
