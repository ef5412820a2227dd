// A few fields of a job, or of many jobs in one pipelined round trip (HMGET per job), for readers that need
// less than a job view: the scheduler's job infos (scheduler/job-info.ts) and waiting reasons
// (scheduler/waiting.ts), the agent link's fences and the log sweep.

import type { Context } from "../context.js";
import type { JobRecord } from "./jobs.js";

/**
 * Fills in the fields a job hash leaves out when they hold their implied value (store/jobs.ts header): `id`
 * (the key names it), `attempt` "0", a root's own `root` and, without noProg, a treeN of "1" (`fields` must
 * then name noProg too). A hash written before they were left out has them, so both read alike. Only the
 * names in `fields` are filled ([] = all, as for a whole hash).
 */
export function withImplied(id: number | string, job: JobRecord, fields: readonly string[] = []): JobRecord {
  const all = fields.length === 0;
  if (job.id === undefined && (all || fields.includes("id"))) job.id = String(id);
  if (job.root === undefined && (all || fields.includes("root"))) job.root = String(id);
  if (job.attempt === undefined && (all || fields.includes("attempt"))) job.attempt = "0";
  if (job.treeN === undefined && job.noProg === undefined && (all || fields.includes("treeN")))
    job.treeN = "1";
  return job;
}

/** Per id, the values of `fields` in order (null = absent field), or null when the read failed. */
export async function readJobFields(
  ctx: Pick<Context, "redis" | "keys">,
  ids: readonly number[],
  fields: readonly string[],
): Promise<((string | null)[] | null)[]> {
  if (ids.length === 0) return [];
  const pipe = ctx.redis.pipeline();
  for (const id of ids) pipe.hmget(ctx.keys.job(id), ...fields);
  const replies = (await pipe.exec()) ?? [];
  return ids.map((_id, i) => {
    const reply = replies[i];
    return !reply || reply[0] ? null : ((reply[1] ?? []) as (string | null)[]);
  });
}

/** The values of `fields` of one job, in order (null = absent field or job). */
export async function jobFields(
  ctx: Pick<Context, "redis" | "keys">,
  id: number | string,
  fields: readonly string[],
): Promise<(string | null)[]> {
  return ctx.redis.hmget(ctx.keys.job(id), ...fields);
}

/** Every field of one job, the implied ones included (withImplied); {} when it does not exist. */
export async function jobHash(ctx: Pick<Context, "redis" | "keys">, id: number | string): Promise<JobRecord> {
  const job = await ctx.redis.hgetall(ctx.keys.job(id));
  return Object.keys(job).length === 0 ? job : withImplied(id, job);
}
