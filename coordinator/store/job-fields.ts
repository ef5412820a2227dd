// A few fields of a job, or of many jobs in one pipelined round trip (HMGET per job), for readers that need
// less than a job view: the scheduler's job infos (scheduler/job-info.ts) and waiting reasons
// (scheduler/waiting.ts), the agent link's fences and the log sweep.

import type { Context } from "../context.js";

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

/** Every field of one job ({} when it does not exist). */
export async function jobHash(
  ctx: Pick<Context, "redis" | "keys">,
  id: number | string,
): Promise<Record<string, string>> {
  return ctx.redis.hgetall(ctx.keys.job(id));
}
