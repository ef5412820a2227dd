// newjob's job specs (docs/COMPAT.md §2): parsed, coerced and checked here, before anything is written, into the
// payload of the addJobs Lua script. A bad spec is a Fault naming the field (`jobspec[1].children[0].cpus`).
// Jobs come out roots first (the given specs in order), then nested children level by level; that is also
// the order of the ids newjob returns.

import {
  Fault,
  FaultCode,
  isStruct,
  type XmlRpcStruct,
  type XmlRpcValue,
} from "../../shared/xmlrpc/types.js";
import {
  badArgument,
  describe,
  int,
  isGiven,
  MAX_CPUS,
  MAX_GPU_MEMORY_MB,
  MAX_GPUS,
  MAX_HOSTS,
  MAX_PRIORITY,
  MAX_STALL_SECONDS,
  MAX_TIME_SECONDS,
  MAX_TRIES,
  optionalIdList,
  str,
} from "./args.js";
import {
  mailOnField,
  MAX_EMAIL_ADDRESSES,
  MAX_EMAIL_REASONS_CHARS,
  MAX_EMAIL_TO_CHARS,
} from "../notices/addresses.js";
import { COMPARISON_OPS, NUMERIC_NAMES } from "../scheduler/conditions.js";
import { SHARE_NAME } from "../shares.js";

/** One job for addJobs.lua: `fields` are hash fields (strings), the rest its links. */
export interface NewJob {
  fields: Record<string, string>;
  /** Parents among the new jobs (0-based index in the list). */
  newParents: number[];
  /** Existing parents. */
  existingParents: number[];
  /** Existing jobs that become its children. */
  existingChildren: number[];
  /** The spec gave no conditions: take the root's. */
  inheritConditions: boolean;
  /** The spec gave no submittedBy: take the parent's. */
  inheritSubmittedBy: boolean;
  /** The spec gave no stallTimeout: take the parent's (none there either: the farm's openhq.stallTimeout). */
  inheritStallTimeout: boolean;
  /** The spec gave no gpus / gpuMemory: take the parent's. */
  inheritGpus: boolean;
  inheritGpuMemory: boolean;
  /** The spec gave no share: take the parent's (none there either: the submitter's, else `default`). */
  inheritShare: boolean;
}

/** Bounded everything: one newjob call creates at most this many jobs. */
export const MAX_JOBS_PER_CALL = 200_000;

/** The condition ops HQueue defines; anything else (`<`, `>=`...) no client would ever satisfy, so refuse it. */
const OPS = new Set(["==", "!=", "in", "not_in", "any"]);
const OS_KEYS = new Set(["linux", "windows", "macosx"]);
/** maxRunning's bound. */
const MAX_RUNNING = 1_000_000;

interface Pending {
  spec: XmlRpcStruct;
  path: string;
  parent: number | undefined;
  topLevel: boolean;
}

/** Parses newjob(jobspec, parent_id, child_ids) into the jobs to create. */
export function parseNewJob(
  jobspec: XmlRpcValue | undefined,
  parentId: XmlRpcValue | undefined,
  childIds: XmlRpcValue | undefined,
): NewJob[] {
  const specs = topLevelSpecs(jobspec);
  // "" is what os.environ.get("JOBID", "") gives outside a job: no parent.
  const parent = isGiven(parentId) && parentId !== "" ? parentIdArg(parentId) : undefined;
  const children = optionalIdList(childIds, "child_ids") ?? [];

  // Breadth-first: the given specs, then their children, then grandchildren...
  const pending: Pending[] = specs.map((spec, i) => ({
    spec,
    path: `jobspec[${i}]`,
    parent: undefined,
    topLevel: true,
  }));
  const jobs: NewJob[] = [];
  const stubs = new Map<string, number>();
  const childStubs: { index: number; stubs: string[]; path: string }[] = [];
  for (let i = 0; i < pending.length; i++) {
    const item = pending[i] as Pending;
    const { job, nested, stubId, childStubIds } = parseSpec(item.spec, item.path);
    if (item.parent !== undefined) job.newParents.push(item.parent);
    jobs.push(job);
    if (jobs.length > MAX_JOBS_PER_CALL) throw badArgument("jobspec", `more than ${MAX_JOBS_PER_CALL} jobs`);
    nested.forEach((spec, c) =>
      pending.push({ spec, path: `${item.path}.children[${c}]`, parent: i, topLevel: false }),
    );
    if (stubId !== undefined) {
      if (stubs.has(stubId))
        throw badArgument(`${item.path}.stubId`, `duplicate stub id ${JSON.stringify(stubId)}`);
      stubs.set(stubId, i);
    }
    if (childStubIds.length > 0) childStubs.push({ index: i, stubs: childStubIds, path: item.path });
  }
  for (const { index, stubs: names, path } of childStubs) {
    names.forEach((name, k) => {
      const child = stubs.get(name);
      if (child === undefined)
        throw badArgument(`${path}.childStubIds[${k}]`, `no spec has stubId ${JSON.stringify(name)}`);
      const links = (jobs[child] as NewJob).newParents;
      if (child === index) throw badArgument(`${path}.childStubIds[${k}]`, "a job cannot be its own child");
      if (!links.includes(index)) links.push(index);
    });
  }
  pending.forEach((item, i) => {
    const job = jobs[i] as NewJob;
    if (!item.topLevel) return;
    if (parent !== undefined && job.newParents.length === 0 && !job.existingParents.includes(parent))
      job.existingParents.push(parent);
    if (job.newParents.length === 0)
      for (const c of children) if (!job.existingChildren.includes(c)) job.existingChildren.push(c);
  });
  checkAcyclic(jobs, pending);
  return jobs;
}

function topLevelSpecs(jobspec: XmlRpcValue | undefined): XmlRpcStruct[] {
  let value = jobspec;
  if (typeof value === "string") {
    try {
      value = JSON.parse(value) as XmlRpcValue;
    } catch {
      throw badArgument("jobspec", "not valid JSON");
    }
  }
  if (Array.isArray(value)) {
    if (value.length === 0) throw badArgument("jobspec", "an empty list");
    return value.map((v, i) => struct(v, `jobspec[${i}]`));
  }
  return [struct(value, "jobspec[0]")];
}

function struct(value: XmlRpcValue | undefined, name: string): XmlRpcStruct {
  if (isStruct(value)) return value;
  throw badArgument(name, `expected a job spec (a dict), got ${describe(value)}`);
}

/** parent_id: an id, possibly the string os.environ["JOBID"]. */
function parentIdArg(value: XmlRpcValue): number {
  const n = int(value, "parent_id");
  if (n <= 0) throw badArgument("parent_id", `expected a job id, got ${n}`);
  return n;
}

function parseSpec(
  spec: XmlRpcStruct,
  path: string,
): { job: NewJob; nested: XmlRpcStruct[]; stubId: string | undefined; childStubIds: string[] } {
  const at = (field: string): string => `${path}.${field}`;
  const f: Record<string, string> = {};
  const given = (field: string): boolean => isGiven(spec[field]);

  if (!given("name")) throw badArgument(at("name"), "required");
  f.name = text(spec.name, at("name"));

  const command = spec.command;
  if (isStruct(command)) {
    const byOs: Record<string, string> = {};
    for (const [os, cmd] of Object.entries(command)) {
      if (!OS_KEYS.has(os)) throw badArgument(at(`command.${os}`), "expected linux, windows or macosx");
      if (isGiven(cmd)) byOs[os] = text(cmd, at(`command.${os}`));
    }
    if (Object.keys(byOs).length === 0) throw badArgument(at("command"), "an empty per-OS dict");
    f.commandByOs = JSON.stringify(byOs);
  } else if (isGiven(command)) {
    const cmd = text(command, at("command"));
    if (cmd !== "") f.command = cmd;
  }
  for (const field of ["shell", "onSuccess", "onError", "onCancel", "onChildError", "description"]) {
    if (given(field)) {
      const value = text(spec[field], at(field));
      if (value !== "") f[field] = value;
    }
  }
  for (const field of ["submittedBy", "emailTo", "emailReasons"]) {
    if (given(field)) {
      const value = listText(spec[field], at(field));
      if (value !== "") f[field] = value;
    }
  }
  checkMailFields(f, at);

  // A value equal to its default (store/jobs.ts DEFAULTS) stays absent: a smaller job hash is less for every
  // HMGET of a transition to scan.
  const unlessDefault = (field: string, value: number, fallback: number) => {
    if (value !== fallback) f[field] = String(value);
  };
  unlessDefault("priority", nonNegative(spec.priority, at("priority"), 0, MAX_PRIORITY), 0);
  unlessDefault("cpus", Math.max(1, nonNegative(spec.cpus, at("cpus"), 1, MAX_CPUS)), 1);
  const minHosts = Math.max(1, nonNegative(spec.minHosts, at("minHosts"), 1, MAX_HOSTS));
  const maxHosts = Math.max(minHosts, nonNegative(spec.maxHosts, at("maxHosts"), minHosts, MAX_HOSTS));
  unlessDefault("minHosts", minHosts, 1);
  unlessDefault("maxHosts", maxHosts, 1);
  unlessDefault("triesLeft", nonNegative(spec.triesLeft, at("triesLeft"), 0, MAX_TRIES), 0);
  if (given("maxTime")) {
    const maxTime = int(spec.maxTime, at("maxTime"));
    if (maxTime > MAX_TIME_SECONDS)
      throw badArgument(
        at("maxTime"),
        `expected at most ${MAX_TIME_SECONDS} seconds (10 years), got ${maxTime}`,
      );
    // 0 or less means no limit (a limit of 0 s would cancel every run at once).
    if (maxTime > 0) f.maxTime = String(maxTime);
  }
  // Kept when given, 0 too: 0 turns the farm's default off for this job (and its children).
  if (given("stallTimeout")) {
    const stall = int(spec.stallTimeout, at("stallTimeout"));
    if (stall < 0 || stall > MAX_STALL_SECONDS)
      throw badArgument(
        at("stallTimeout"),
        `expected 0 (off) to ${MAX_STALL_SECONDS} seconds (30 days), got ${stall}`,
      );
    f.stallTimeout = String(stall);
  }

  // GPUs per run and MB per GPU. Unlike cpus, a bad count is a Fault rather than clamped: a job booked on the
  // wrong number of cards renders wrong or not at all. A count no blade has waits with a reason instead.
  if (given("gpus")) unlessDefault("gpus", wholeNumber(spec.gpus, at("gpus"), MAX_GPUS), 0);
  if (given("gpuMemory"))
    unlessDefault("gpuMemory", wholeNumber(spec.gpuMemory, at("gpuMemory"), MAX_GPU_MEMORY_MB), 0);
  if (given("share")) {
    const share = text(spec.share, at("share"));
    if (share !== "" && !SHARE_NAME.test(share))
      throw badArgument(at("share"), "expected a share name (letters, digits, _ . -, at most 64)");
    if (share !== "") f.share = share;
  }
  if (given("maxRunning")) {
    const max = int(spec.maxRunning, at("maxRunning"));
    if (max < 1 || max > MAX_RUNNING)
      throw badArgument(at("maxRunning"), `expected 1 to ${MAX_RUNNING} frames at once, got ${max}`);
    f.maxRunning = String(max);
  }

  const tags = stringList(spec.tags, at("tags"));
  if (tags.length > 0) f.tags = JSON.stringify(tags);
  if (tags.includes("excludeProgress") || (f.command === undefined && f.commandByOs === undefined)) {
    f.noProg = "1";
  }

  const conditions = given("conditions") ? parseConditions(spec.conditions, at("conditions")) : [];
  for (const [field, name] of [
    ["host", "hostname"],
    ["hostgroup", "group"],
  ] as const) {
    if (!given(field)) continue;
    const names = splitNames(listText(spec[field], at(field)));
    if (names.length > 0) conditions.push({ type: "client", name, op: "in", value: names.join(",") });
  }
  if (conditions.length > 0) f.conditions = JSON.stringify(conditions);

  if (given("environment")) {
    const env = parseEnvironment(spec.environment, at("environment"));
    if (Object.keys(env).length > 0) f.environment = JSON.stringify(env);
  }
  if (given("resources")) {
    const resources = parseResources(spec.resources, at("resources"));
    if (Object.keys(resources).length > 0) f.resources = JSON.stringify(resources);
  }

  const nested: XmlRpcStruct[] = [];
  if (given("children")) {
    const kids = spec.children;
    const list = Array.isArray(kids) ? kids : [kids];
    list.forEach((k, i) => nested.push(struct(k, at(`children[${i}]`))));
  }

  const job: NewJob = {
    fields: f,
    newParents: [],
    existingParents: unique(
      optionalIdList(spec.parentIds ?? spec.parentId ?? spec.parent_id, at("parentIds")) ?? [],
    ),
    existingChildren: unique(optionalIdList(spec.childrenIds ?? spec.child_ids, at("childrenIds")) ?? []),
    inheritConditions: !given("conditions") && !given("host") && !given("hostgroup"),
    inheritSubmittedBy: !given("submittedBy"),
    inheritStallTimeout: !given("stallTimeout"),
    inheritGpus: !given("gpus"),
    inheritGpuMemory: !given("gpuMemory"),
    inheritShare: !given("share") || f.share === undefined,
  };
  const stubId = given("stubId") ? text(spec.stubId, at("stubId")) : undefined;
  const childStubIds = stringList(spec.childStubIds, at("childStubIds"));
  return { job, nested, stubId, childStubIds };
}

/**
 * emailTo and emailReasons are bounded (a Fault past the bound); within it anything is kept, as HQueue keeps
 * it, and addresses mail cannot go to are skipped at send. `mailOn` is what the transitions test.
 */
function checkMailFields(f: Record<string, string>, at: (field: string) => string): void {
  const to = f.emailTo;
  if (to !== undefined) {
    if (to.length > MAX_EMAIL_TO_CHARS)
      throw badArgument(at("emailTo"), `expected at most ${MAX_EMAIL_TO_CHARS} characters, got ${to.length}`);
    const count = to.split(/[\s,;]+/).filter((a) => a !== "").length;
    if (count > MAX_EMAIL_ADDRESSES)
      throw badArgument(at("emailTo"), `expected at most ${MAX_EMAIL_ADDRESSES} addresses, got ${count}`);
  }
  const reasons = f.emailReasons;
  if (reasons !== undefined && reasons.length > MAX_EMAIL_REASONS_CHARS)
    throw badArgument(
      at("emailReasons"),
      `expected at most ${MAX_EMAIL_REASONS_CHARS} characters, got ${reasons.length}`,
    );
  const mailOn = mailOnField(to, reasons);
  if (mailOn !== null) f.mailOn = mailOn;
}

function unique(ids: number[]): number[] {
  return [...new Set(ids)];
}

/** A string field; numbers are taken as their text. */
function text(value: XmlRpcValue | undefined, name: string): string {
  return str(value, name);
}

/** A string, or a list of strings joined with commas (emailTo: ["a@x", "b@x"]). */
function listText(value: XmlRpcValue | undefined, name: string): string {
  if (Array.isArray(value)) return value.map((v, i) => str(v, `${name}[${i}]`)).join(",");
  return str(value, name);
}

/** A list of strings: a bare string is one item, "" none. */
function stringList(value: XmlRpcValue | undefined, name: string): string[] {
  if (!isGiven(value)) return [];
  const items = Array.isArray(value) ? value : [value];
  return items.map((item, i) => str(item, `${name}[${i}]`).trim()).filter((s) => s !== "");
}

/**
 * An integer field that cannot be negative: a negative value (priority -1) is taken as 0, not refused; one
 * above `max` (what the field can hold) is a Fault.
 */
function nonNegative(value: XmlRpcValue | undefined, name: string, fallback: number, max: number): number {
  if (!isGiven(value) || value === "") return fallback;
  const n = int(value, name);
  if (n > max) throw badArgument(name, `expected at most ${max}, got ${n}`);
  return Math.max(0, n);
}

/** A whole number from 0 to `max`, strictly: 2.5, -1, "two" or more than `max` is a Fault. */
function wholeNumber(value: XmlRpcValue | undefined, name: string, max: number): number {
  const n =
    typeof value === "number" || typeof value === "bigint"
      ? Number(value)
      : typeof value === "string" && /^\s*\d+\s*$/.test(value)
        ? Number(value)
        : NaN;
  if (!Number.isInteger(n) || n < 0 || n > max)
    throw badArgument(name, `expected a whole number from 0 to ${max}, got ${describe(value)}`);
  return n;
}

function splitNames(value: string): string[] {
  return value.split(/[\s,;]+/).filter((s) => s !== "");
}

interface Condition {
  type: string;
  name: string;
  op: string;
  value: string;
}

export function parseConditions(value: XmlRpcValue | undefined, name: string): Condition[] {
  const list = Array.isArray(value) ? value : [value];
  return list.map((item, i) => {
    const at = `${name}[${i}]`;
    const c = struct(item, at);
    const op = isGiven(c.op) ? str(c.op, `${at}.op`).trim() : "==";
    if (!isGiven(c.name)) throw badArgument(`${at}.name`, "required");
    const conditionName = str(c.name, `${at}.name`);
    if (!OPS.has(op) && !(COMPARISON_OPS.has(op) && NUMERIC_NAMES.has(conditionName)))
      throw badArgument(
        `${at}.op`,
        `unknown operator ${JSON.stringify(op)} (HQueue defines ==, !=, in, not_in, any; gpus and gpuMemory also take <, <=, >, >=)`,
      );
    if (!isGiven(c.value)) throw badArgument(`${at}.value`, "required");
    return {
      type: isGiven(c.type) ? str(c.type, `${at}.type`) : "client",
      name: conditionName,
      op: op === "any" ? "in" : op,
      value: listText(c.value, `${at}.value`),
    };
  });
}

function parseEnvironment(value: XmlRpcValue | undefined, name: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, v] of Object.entries(struct(value, name))) {
    if (!isGiven(v)) continue;
    env[key] = typeof v === "boolean" ? (v ? "1" : "0") : str(v, `${name}.${key}`);
  }
  return env;
}

function parseResources(value: XmlRpcValue | undefined, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  if (typeof value === "string" || Array.isArray(value)) {
    // ["houdini", "mantra"] or "houdini": one unit of each.
    for (const r of stringList(value, name)) out[r] = 1;
    return out;
  }
  for (const [key, v] of Object.entries(struct(value, name))) {
    const amount = isGiven(v) ? nonNegative(v, `${name}.${key}`, 1, Number.MAX_SAFE_INTEGER) : 1;
    // An amount of 0 needs nothing: leave the resource out rather than hold 0 of it.
    if (amount > 0) out[key] = amount;
  }
  return out;
}

/** Links among the new jobs must not form a cycle (stub ids can be wired in a loop). */
function checkAcyclic(jobs: NewJob[], pending: Pending[]): void {
  const state = new Uint8Array(jobs.length); // 0 new, 1 on the path, 2 done
  for (let start = 0; start < jobs.length; start++) {
    if (state[start] !== 0) continue;
    const stack: [number, number][] = [[start, 0]];
    state[start] = 1;
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as [number, number];
      const [node, next] = top;
      const parents = (jobs[node] as NewJob).newParents;
      if (next < parents.length) {
        top[1]++;
        const p = parents[next] as number;
        if (state[p] === 1) {
          throw new Fault(
            FaultCode.badArgument,
            `${(pending[p] as Pending).path}: its stub links form a cycle`,
          );
        }
        if (state[p] === 0) {
          state[p] = 1;
          stack.push([p, 0]);
        }
      } else {
        state[node] = 2;
        stack.pop();
      }
    }
  }
}
