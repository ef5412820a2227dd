// The one way this project runs Lua: every script is a named file lua/<name>.lua (the job transitions, and
// the changes of the note, group and resource stores). A line `-- @include name` is replaced by
// lua/includes/<name>.lua, each include at most once per script (includes may include others). Scripts are
// registered with ioredis defineCommand (EVALSHA, falling back to EVAL after a Redis restart) and take no
// KEYS: ARGV[1] is the key prefix and ARGV[2] the time in ms; each .lua file documents the rest. Scripts
// name keys only through `K` (K.job(id), K.queueHeads...), which luaWithKeys (store/keys.ts) writes out from
// the one key schema in place, after `local KP = ARGV[1]` on the script's first line, so Lua's line numbers
// stay those of the expanded files.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Redis } from "ioredis";
import { Fault, FaultCode } from "../../shared/xmlrpc/types.js";
import { luaWithKeys } from "./keys.js";

const LUA_DIR = join(dirname(fileURLToPath(import.meta.url)), "lua");

export type ScriptArg = string | number | Buffer;
type Command = (...args: ScriptArg[]) => Promise<unknown>;

function expandIncludes(source: string, seen = new Set<string>()): string {
  return source.replace(/^-- @include (\w+)\s*$/gm, (_line, name: string) => {
    if (seen.has(name)) return "";
    seen.add(name);
    return expandIncludes(readFileSync(join(LUA_DIR, "includes", `${name}.lua`), "utf8"), seen);
  });
}

/**
 * Blanks the included helpers the script never calls: Redis runs a script's whole text on every call, so
 * each helper left in is a closure made per call (all of util.lua costs a hot script ~2 µs of Redis CPU). A
 * helper is a top-level `local function name(` through the next line `end` at column 0; it stays while its
 * name appears in code (not comments) outside its own body. Lines are blanked, not removed, so the text keeps
 * its line numbers.
 */
function withoutUnusedHelpers(source: string): string {
  const lines = source.split("\n");
  const code = lines.map((line) => line.replace(/--.*$/, ""));
  const helpers: { name: string; from: number; to: number }[] = [];
  lines.forEach((line, i) => {
    const name = /^local function (\w+)\(/.exec(line)?.[1];
    if (name === undefined) return;
    const to = lines.findIndex((l, j) => j > i && l === "end");
    if (to < 0) throw new Error(`Lua helper ${name} has no closing \`end\` at column 0`);
    helpers.push({ name, from: i, to });
  });
  const uses = (name: string, from: number, to: number) =>
    code.some((line, i) => (i < from || i > to) && new RegExp(`\\b${name}\\b`).test(line));
  for (let dropped = true; dropped;) {
    dropped = false;
    for (const h of helpers.splice(0)) {
      if (uses(h.name, h.from, h.to)) helpers.push(h);
      else {
        for (let i = h.from; i <= h.to; i++) lines[i] = code[i] = "";
        dropped = true;
      }
    }
  }
  return lines.join("\n");
}

/** The full text of lua/<name>.lua with its includes expanded (those it calls) and its keys written out. */
export function loadLua(name: string): string {
  const source = withoutUnusedHelpers(expandIncludes(readFileSync(join(LUA_DIR, `${name}.lua`), "utf8")));
  return `local KP = ARGV[1]; ${luaWithKeys(source)}`;
}

/**
 * Runs lua/<name>.lua with ARGV (prefix, now, ...args). A script refuses a call (having changed nothing) with
 * `return redis.error_reply('NOTFOUND|CONFLICT|BADARG <message>')`, which becomes the matching XML-RPC Fault
 * (404, 409, -32602) carrying <message>; any other error is rethrown.
 */
export async function runScript(
  redis: Redis,
  prefix: string,
  name: string,
  args: ScriptArg[],
  replies: "strings" | "buffers" = "strings",
): Promise<unknown> {
  const method = `openhq_store_${name}`;
  if (!(method in redis)) redis.defineCommand(method, { numberOfKeys: 0, lua: loadLua(name) });
  // defineCommand also makes `<method>Buffer`, whose bulk replies stay bytes (job output need not be UTF-8).
  const variant = replies === "buffers" ? `${method}Buffer` : method;
  const command = (redis as unknown as Record<string, Command>)[variant] as Command;
  try {
    return await command.call(redis, prefix, Date.now(), ...args);
  } catch (err) {
    throw scriptFault(err);
  }
}

const FAULTS: Record<string, number> = {
  NOTFOUND: FaultCode.notFound,
  CONFLICT: FaultCode.conflict,
  BADARG: FaultCode.badArgument,
};

function scriptFault(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  // ioredis prefixes the reply with the script location for errors raised with error_reply; find our code.
  const match = /\b(NOTFOUND|CONFLICT|BADARG) (.*)$/s.exec(err.message);
  const code = match?.[1] !== undefined ? FAULTS[match[1]] : undefined;
  return code !== undefined && match?.[2] !== undefined ? new Fault(code, match[2]) : err;
}
