// Availability rules (COMPAT §7): the client is available when ANY rule holds; no rules = always available.
// Windows are in the agent's local time; a window whose start is after its end wraps past midnight and
// belongs to the day it starts on (Friday 22:00–06:00 covers Saturday 03:00).

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
  const start = minutesOf(rule.start);
  const end = minutesOf(rule.end);
  const minute = now.getHours() * 60 + now.getMinutes();
  const today = now.getDay();
  const onDay = (day: number): boolean => !rule.days || rule.days.length === 0 || rule.days.includes(day);
  if (start === end) return onDay(today); // the whole day
  if (start < end) return onDay(today) && minute >= start && minute < end;
  // Wraps: the evening part belongs to today, the morning part to yesterday's window.
  if (minute >= start) return onDay(today);
  return minute < end && onDay((today + 6) % 7);
}

/** "HH:MM" -> minutes after midnight; throws on anything else. */
export function minutesOf(text: string): number {
  const match = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  const hours = Number(match?.[1]);
  const minutes = Number(match?.[2]);
  if (!match || hours > 24 || minutes > 59 || (hours === 24 && minutes > 0)) {
    throw new Error(`availability time must be "HH:MM", got ${JSON.stringify(text)}`);
  }
  return hours * 60 + minutes;
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
        minutesOf(rule.start);
        minutesOf(rule.end);
        const days = Array.isArray(rule.days)
          ? rule.days.filter((d) => Number.isInteger(d) && d >= 0 && d <= 6)
          : [];
        rules.push({ type: "window", days, start: rule.start, end: rule.end });
      } else throw new Error(`unknown rule ${JSON.stringify(item)}`);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  return { rules, problems };
}
