// A few fields of many jobs in one pipelined round trip (HMGET per job), for readers that need less than a
// job view: the scheduler's job infos (scheduler/job-info.ts) and its waiting reasons (scheduler/waiting.ts).

import type { Context } from "../context.js";

/** Per id, the values of `fields` in order (null = absent field), or null when the read failed. */
export async function readJobFields(
  ctx: Context,
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
