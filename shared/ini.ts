// A small INI reader for hqserver.ini and hqnode.ini, in the dialect Python's ConfigParser (and Paste, which
// HQueue's server config was written for) accepts: `[section]` headers, `key = value` or `key: value`,
// whole-line comments starting with `;` or `#`, indented continuation lines, and `%(name)s` interpolation
// from the same section, then [DEFAULT], then `here` (the folder the file lives in). Key case is kept,
// because HQueue's keys are camelCase (`hqserver.activeTimeout`).

import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";

export type IniSection = Record<string, string>;

export interface IniFile {
  /** Sections in file order, values interpolated; keys before any header land in "DEFAULT". */
  sections: Record<string, IniSection>;
  /** The file's folder, what `%(here)s` stands for. */
  here: string;
}

export class IniError extends Error {}

const MAX_INTERPOLATION_DEPTH = 10;

export function parseIni(text: string, here: string): IniFile {
  const raw: Record<string, IniSection> = {};
  let section = "DEFAULT";
  let lastKey: string | null = null;
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  lines.forEach((line, index) => {
    if (/^\s*([;#].*)?$/.test(line)) return;
    const values = (raw[section] ??= {});
    if (/^\s/.test(line) && lastKey !== null) {
      values[lastKey] = `${values[lastKey] ?? ""}\n${line.trim()}`.replace(/^\n/, "");
      return;
    }
    const header = /^\[([^\]]+)\]\s*$/.exec(line);
    if (header?.[1] !== undefined) {
      section = header[1].trim();
      raw[section] ??= {};
      lastKey = null;
      return;
    }
    const pair = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(line.trim());
    if (pair?.[1] === undefined || pair[2] === undefined) {
      throw new IniError(
        `line ${index + 1}: expected "key = value" or "[section]", got ${JSON.stringify(line)}`,
      );
    }
    lastKey = pair[1];
    values[lastKey] = pair[2];
  });

  const defaults = raw["DEFAULT"] ?? {};
  const sections: Record<string, IniSection> = {};
  for (const [name, values] of Object.entries(raw)) {
    const scope: IniSection = { here, ...defaults, ...values };
    const out: IniSection = {};
    const keys =
      name === "DEFAULT"
        ? Object.keys(values)
        : [...new Set([...Object.keys(defaults), ...Object.keys(values)])];
    for (const key of keys) out[key] = interpolate(scope[key] ?? "", scope, `[${name}] ${key}`, 0);
    sections[name] = out;
  }
  return { sections, here };
}

export function readIni(path: string): IniFile {
  const full = resolve(path);
  return parseIni(readFileSync(full, "utf8"), dirname(full));
}

function interpolate(value: string, scope: IniSection, where: string, depth: number): string {
  if (depth > MAX_INTERPOLATION_DEPTH) throw new IniError(`${where}: %(…)s references nest too deep`);
  return value.replace(/%(%|\(([^)]+)\)s)/g, (_match, _all: string, name: string | undefined) => {
    if (name === undefined) return "%";
    const found = scope[name];
    if (found === undefined) throw new IniError(`${where}: %(${name})s is not defined`);
    return interpolate(found, scope, where, depth + 1);
  });
}
