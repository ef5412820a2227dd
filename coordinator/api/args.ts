// Argument coercion at the XML-RPC boundary (docs/COMPAT.md: strict inside, lenient at the edge). Every helper
// takes the raw value and the argument's name, returns a clean value, or throws a Fault naming the argument.
// `null` and `undefined` both mean "not given".

import { Fault, FaultCode, type XmlRpcValue } from "../../shared/xmlrpc/types.js";

/**
 * What numeric job fields can hold. The queue score is -priority * 2^32 + arrival, exact in a double only
 * while priority < 2^21; the others are generous bounds on what a farm can mean.
 */
export const MAX_PRIORITY = 1_000_000;
export const MAX_CPUS = 4096;
export const MAX_HOSTS = 10_000;
export const MAX_TRIES = 1000;
export const MAX_TIME_SECONDS = 10 * 365 * 24 * 3600;
/** stallTimeout (job field and openhq.stallTimeout): 30 days without output is as long as a hang is worth. */
export const MAX_STALL_SECONDS = 30 * 24 * 3600;
/** GPUs per job and MB per GPU: what one agent may report (coordinator/link/gpus.ts). */
export { MAX_AGENT_GPUS as MAX_GPUS, MAX_GPU_MEMORY_MB } from "../link/gpus.js";

export function badArgument(name: string, problem: string): Fault {
  return new Fault(FaultCode.badArgument, `${name}: ${problem}`);
}

/** The Fault for an argument naming something that does not exist: "<name>: <problem>". */
export function notFound(name: string, problem: string): Fault {
  return new Fault(FaultCode.notFound, `${name}: ${problem}`);
}

export function isGiven(value: XmlRpcValue | undefined): value is Exclude<XmlRpcValue, null> {
  return value !== null && value !== undefined;
}

/** An integer; accepts numbers, bigints in range, and strings with a leading integer ("5", "5 (Medium)"). */
export function int(value: XmlRpcValue | undefined, name: string): number {
  // Beyond 2^53 a double no longer holds every integer: such numbers are refused, not rounded.
  if (typeof value === "number" && Number.isFinite(value) && Number.isSafeInteger(Math.trunc(value)))
    return Math.trunc(value);
  if (
    typeof value === "bigint" &&
    value <= BigInt(Number.MAX_SAFE_INTEGER) &&
    value >= -BigInt(Number.MAX_SAFE_INTEGER)
  )
    return Number(value);
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "string") {
    const match = /^\s*([+-]?\d+)/.exec(value);
    if (match?.[1] !== undefined) {
      const n = Number(match[1]);
      if (Number.isSafeInteger(n)) return n;
    }
  }
  throw badArgument(name, `expected an integer, got ${describe(value)}`);
}

export function optionalInt(value: XmlRpcValue | undefined, name: string, fallback: number): number {
  return isGiven(value) ? int(value, name) : fallback;
}

/** A job/client/group/note id: a positive integer, possibly sent as a string (os.environ["JOBID"]). */
export function id(value: XmlRpcValue | undefined, name: string): number {
  const n = int(value, name);
  if (n < 0) throw badArgument(name, `expected an id, got ${n}`);
  return n;
}

/** A list of ids; a single id is taken as a list of one (scripts pass `cancelJobs(5)`). */
export function idList(value: XmlRpcValue | undefined, name: string): number[] {
  if (!isGiven(value)) throw badArgument(name, "expected a list of ids, got None");
  const items = Array.isArray(value) ? value : [value];
  return items.map((item, i) => id(item, `${name}[${i}]`));
}

export function optionalIdList(value: XmlRpcValue | undefined, name: string): number[] | undefined {
  return isGiven(value) ? idList(value, name) : undefined;
}

export function str(value: XmlRpcValue | undefined, name: string): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  throw badArgument(name, `expected a string, got ${describe(value)}`);
}

export function optionalStr(value: XmlRpcValue | undefined, name: string): string | undefined {
  return isGiven(value) ? str(value, name) : undefined;
}

/** A list of strings; a bare string is a list of one. */
export function strList(value: XmlRpcValue | undefined, name: string): string[] {
  if (!isGiven(value)) return [];
  const items = Array.isArray(value) ? value : [value];
  return items.map((item, i) => str(item, `${name}[${i}]`));
}

export function bool(value: XmlRpcValue | undefined, name: string): boolean {
  if (typeof value === "boolean") return value;
  if (typeof value === "number") return value !== 0;
  if (typeof value === "string") {
    const v = value.trim().toLowerCase();
    if (["1", "true", "yes", "on"].includes(v)) return true;
    if (["0", "false", "no", "off", ""].includes(v)) return false;
  }
  throw badArgument(name, `expected a boolean, got ${describe(value)}`);
}

/** `attribs`: None = all; a list of names; a bare string = one name. */
export function attribList(value: XmlRpcValue | undefined, name = "attribs"): string[] | undefined {
  return isGiven(value) ? strList(value, name) : undefined;
}

export function describe(value: XmlRpcValue | undefined): string {
  if (value === null || value === undefined) return "None";
  if (Array.isArray(value)) return "a list";
  if (value instanceof Date) return "a dateTime";
  if (Buffer.isBuffer(value)) return "binary data";
  if (typeof value === "object") return "a struct";
  const text =
    typeof value === "string"
      ? JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value)
      : String(value);
  return `${typeof value} ${text}`;
}
