-- moveToAbandoned: the client running attempt A was lost (no heartbeat for activeTimeout). Releases the
-- clients; runnable again while triesLeft > 0 (decremented), else abandoned.
-- ARGV: prefix, now, id, attempt, reason ("" none). Returns 'ok', or 'stale' when the attempt is not the
-- current one or the job is no longer running.
-- @include settle
-- @include releaseClients
-- @include fence
local prefix, now, id, attempt, reason = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), ARGV[5]
local key = jobKey(prefix, id)
local status = redis.call('HGET', key, 'status')
if not status then
  return redis.error_reply('NOTFOUND job ' .. id .. ' does not exist')
end
if not isLive(key, status) or numField(key, 'attempt', 0) ~= attempt then
  return 'stale'
end
releaseClients(prefix, id)
redis.call('HDEL', key, 'pausedRunning')
appendLog(key, reason ~= '' and ('client lost: ' .. reason) or 'client lost', now)
local tries = numField(key, 'triesLeft', 0)
if tries > 0 and redis.call('HGET', key, 'childError') ~= '1' then
  redis.call('HSET', key, 'triesLeft', tries - 1)
  setProgress(prefix, id, 0)
  appendLog(key, 'rescheduled (' .. (tries - 1) .. ' tries left)', now)
  -- Back to the queue, or to waiting first when the run added children to its own job.
  local work = {}
  resolveIdle(prefix, id, now, work)
  settle(prefix, now, work)
else
  finish(prefix, id, 'abandoned', now)
end
return 'ok'
