-- migrateQueue: moves up to ARGV[3] jobs from the queue of earlier versions ({p}queue, beside a runnable
-- set scored by id) into today's: the runnable set scored for dispatch, and each job's requirement class
-- (util.lua). The scheduler calls it at start until it returns 0; safe to run from several coordinators.
-- Also drops {p}jobs:roots:finished of earlier versions: {p}jobs:expiry holds the same ids.
-- ARGV: prefix, now, count. Returns the number of jobs moved.
-- @include util
local count = tonumber(ARGV[3])
redis.call('UNLINK', K.legacyFinishedRoots)
local old = K.legacyQueue
local flat = redis.call('ZRANGE', old, 0, count - 1, 'WITHSCORES')
for i = 1, #flat, 2 do
  local id, score = flat[i], flat[i + 1]
  local key = K.job(id)
  redis.call('ZREM', old, id)
  if redis.call('HGET', key, 'status') == 'runnable' then
    queueAt(id, redis.call('HGET', key, 'cls') or storeClass(key), score)
  end
end
return #flat / 2
