// What dispatch needs to know about a queued job, read from its hash (field list: coordinator/store/jobs.ts).
// These fields do not change while a job waits in the queue, except conditions (savePermittedClientsList),
// so the scheduler caches them and forgets a job whenever an event names it.

import type { Context } from "../context.js";
import { readJobFields } from "../store/job-fields.js";
import { jsonList } from "../store/stored-json.js";
import { parseConditions, type Condition } from "./conditions.js";

export interface JobInfo {
  id: number;
  /** The job's requirement class (coordinator/store/lua/includes/util.lua): jobs of one class are alike here. */
  cls: string;
  cpus: number;
  tags: string[];
  single: boolean;
  /** The job's `single:x` tags. */
  singleTags: string[];
  conditions: Condition[];
  minHosts: number;
  maxHosts: number;
  hasResources: boolean;
  /** Platforms with a command entry when the spec gave a per-OS dict; null = any platform. */
  platforms: string[] | null;
  /** GPUs each client books, and the MB each of them must have (0 = any). */
  gpus: number;
  gpuMemory: number;
  /** Its share (coordinator/shares.ts) and submittedBy: a class with a share or caps holds one of each. */
  share: string;
  user: string | null;
}

const FIELDS = [
  "cpus",
  "tags",
  "conditions",
  "minHosts",
  "maxHosts",
  "resources",
  "commandByOs",
  "cls",
  "gpus",
  "gpuMemory",
  "share",
  "submittedBy",
] as const;

function platformsOf(json: string | null): string[] | null {
  if (!json) return null;
  try {
    const value: unknown = JSON.parse(json);
    return value && typeof value === "object" ? Object.keys(value) : null;
  } catch {
    return null;
  }
}

export function parseJobInfo(id: number, f: (string | null)[]): JobInfo {
  const tags = jsonList(f[1]).filter((t): t is string => typeof t === "string");
  const minHosts = Math.max(1, Number(f[3]) || 1);
  return {
    id,
    cls: f[7] ?? "",
    cpus: Math.max(1, Number(f[0]) || 1),
    tags,
    single: tags.includes("single"),
    singleTags: tags.filter((t) => t.startsWith("single:")),
    conditions: parseConditions(f[2]),
    minHosts,
    maxHosts: Math.max(minHosts, Number(f[4]) || 1),
    hasResources: !!f[5] && f[5] !== "{}",
    platforms: platformsOf(f[6] ?? null),
    gpus: Math.max(0, Math.trunc(Number(f[8])) || 0),
    gpuMemory: Math.max(0, Math.trunc(Number(f[9])) || 0),
    share: f[10] ?? "default",
    user: f[11] ?? null,
  };
}

export async function readJobInfos(ctx: Context, ids: readonly number[]): Promise<(JobInfo | null)[]> {
  if (ids.length === 0) return [];
  const replies = await readJobFields(ctx, ids, FIELDS);
  return ids.map((id, i) => {
    const fields = replies[i];
    if (!fields) return null;
    return fields.every((v) => v === null) ? null : parseJobInfo(id, fields);
  });
}
