// The one way this project runs Lua: every script is a named file lua/<name>.lua (the job transitions, and
// the changes of the note, group and resource stores). All of them are loaded into Redis as ONE function
// library (FUNCTION LOAD), so the helpers in lua/includes/ are defined once at load instead of on every call
// (with EVALSHA, Redis ran a script's whole text, every helper definition included, per call: 2-3 µs of a
// hot script). The library holds every include once, then one function per script whose body is the .lua
// file unchanged; a line `-- @include name` in a script only documents what it uses, and a line
// `-- @read-only` marks a script that never writes. Scripts take no KEYS:
// ARGV[1] is the key prefix and ARGV[2] the time in ms; each .lua file documents the rest. ARGV and KP (the
// prefix) are library-level locals each function sets on entry, as the includes read them too (and the
// globals they use, once: RUNTIME_GLOBALS); an include's
// state that must not outlive a call is declared `local NAME = value -- @per-call` and reset on entry.
// Scripts name keys only through `K` (K.job(id), K.queueHeads...), which luaWithKeys (store/keys.ts) writes
// out from the one key schema in place.
//
// The library and its functions are named with a hash of its code (openhq_<hash>, openhq_<hash>_<script>),
// so coordinators of two versions can share one Redis during a rolling upgrade; a loaded library persists
// (RDB/AOF, replication). A Redis that lacks it (flushed, restarted without persistence, a fresh replica
// promoted) answers `Function not found`: the caller loads the library and retries once.

import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Redis } from "ioredis";
import { refusal, type RefusalKind } from "../refusal.js";
import { ConfigError } from "../../shared/config-loader.js";
import { luaWithKeys } from "./keys.js";

const LUA_DIR = join(dirname(fileURLToPath(import.meta.url)), "lua");

export type ScriptArg = string | number | Buffer;

function expandIncludes(source: string, seen: Set<string>): string {
  return source.replace(/^-- @include (\w+)\s*$/gm, (_line, name: string) => {
    if (seen.has(name)) return "";
    seen.add(name);
    return expandIncludes(readFileSync(join(LUA_DIR, "includes", `${name}.lua`), "utf8"), seen);
  });
}

const luaNames = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith(".lua"))
    .map((f) => f.slice(0, -4))
    .sort();

interface LuaLibrary {
  /** openhq_<hash of the code>; each script is the function `<name>_<script>`. */
  name: string;
  /** The FUNCTION LOAD text. */
  code: string;
}

// The globals the scripts use, as library-level locals set on the first call. In a function library the
// globals table is empty and reads go through its __index metatable (Redis 7.0), ~150 instructions each: a hot
// transition reads a few dozen (redis.call, tonumber, string.format...). They cannot be read at load, where
// only the load API (redis.register_function) is visible; the runtime values never change (read-only).
const GLOBAL_NAMES = "redis, tonumber, tostring, type, ipairs, pairs, unpack, string, table, math, cjson";
const RUNTIME_GLOBALS = [
  "local registerFunction = redis.register_function",
  `local function readGlobals() return ${GLOBAL_NAMES} end`,
  `local ${GLOBAL_NAMES}`,
  `local function runtimeGlobals() ${GLOBAL_NAMES} = readGlobals() end`,
].join("\n");

function buildLibrary(): LuaLibrary {
  const includes = expandIncludes(
    luaNames(join(LUA_DIR, "includes"))
      .map((n) => `-- @include ${n}`)
      .join("\n"),
    new Set(),
  );
  const resets = [...includes.matchAll(/^local (\w+) = (.*?)\s*-- @per-call$/gm)]
    .map((m) => `${m[1] as string} = ${m[2] as string}; `)
    .join("");
  const functions = luaNames(LUA_DIR).map((script) => {
    const source = readFileSync(join(LUA_DIR, `${script}.lua`), "utf8");
    const body = source.replace(/^-- @include \w+\s*$/gm, "");
    // A read (`-- @read-only`) is flagged no-writes, so it still answers while Redis refuses writes (maxmemory);
    // without a flag Redis refuses any function call then, as it may write.
    const flags = /^-- @read-only\s*$/m.test(source) ? ", flags = { 'no-writes' }" : "";
    return `registerFunction{ function_name = '@LIB@_${script}', callback = function(_, args) if not redis then runtimeGlobals() end; ARGV = args; KP = args[1]; ${resets}\n${body}\nend${flags} }`;
  });
  const text = luaWithKeys([RUNTIME_GLOBALS, "local ARGV, KP = {}, ''", includes, ...functions].join("\n"));
  const name = `openhq_${createHash("sha1").update(text).digest("hex").slice(0, 12)}`;
  return { name, code: `#!lua name=${name}\n${text.replaceAll("@LIB@", name)}` };
}

let library: LuaLibrary | undefined;

/** The one function library of all lua/*.lua scripts (built once per process). */
function luaLibrary(): LuaLibrary {
  library ??= buildLibrary();
  return library;
}

// One load at a time per connection: after a Redis restart every waiting call meets `Function not found`.
const loading = new WeakMap<Redis, Promise<unknown>>();

function loadLibrary(redis: Redis): Promise<unknown> {
  let pending = loading.get(redis);
  if (pending === undefined) {
    pending = redis.function("LOAD", "REPLACE", luaLibrary().code).finally(() => loading.delete(redis));
    loading.set(redis, pending);
  }
  return pending;
}

/**
 * Loads the library at start-up, which also proves the Redis can run it: functions need Redis 7, so an older
 * server is named here (ConfigError: exit 2) instead of failing every call later.
 */
export async function loadLuaLibrary(redis: Redis): Promise<void> {
  const info = await redis.info("server");
  const version = /^redis_version:(\d+)/m.exec(info)?.[1];
  if (version !== undefined && Number(version) < 7) {
    throw new ConfigError(`redis: openhq needs Redis 7 or newer (functions); this server is ${version}.x`);
  }
  await loadLibrary(redis);
}

/**
 * Runs lua/<name>.lua with ARGV (prefix, now, ...args). A script refuses a call (having changed nothing) with
 * `return redis.error_reply('NOTFOUND|CONFLICT|BADARG <message>')`, which becomes the matching Refusal
 * (NotFound, Conflict, BadArgument) carrying <message>; any other error is rethrown. With `buffers`, bulk replies stay bytes
 * (job output need not be UTF-8).
 */
export async function runScript(
  redis: Redis,
  prefix: string,
  name: string,
  args: ScriptArg[],
  replies: "strings" | "buffers" = "strings",
): Promise<unknown> {
  const fn = `${luaLibrary().name}_${name}`;
  const call = () =>
    replies === "buffers"
      ? redis.callBuffer("FCALL", fn, 0, prefix, Date.now(), ...args)
      : redis.fcall(fn, 0, prefix, Date.now(), ...args);
  try {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof Error) || !/^ERR Function not found/.test(err.message)) throw err;
      await loadLibrary(redis);
      return await call();
    }
  } catch (err) {
    throw scriptRefusal(err);
  }
}

const KINDS: Record<string, RefusalKind> = {
  NOTFOUND: "notFound",
  CONFLICT: "conflict",
  BADARG: "badArgument",
};

function scriptRefusal(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  // The reply may carry a script location before our code (ioredis, Lua runtime errors); find the code.
  const match = /\b(NOTFOUND|CONFLICT|BADARG) (.*)$/s.exec(err.message);
  const kind = match?.[1] !== undefined ? KINDS[match[1]] : undefined;
  return kind !== undefined && match?.[2] !== undefined ? refusal(kind, match[2]) : err;
}
