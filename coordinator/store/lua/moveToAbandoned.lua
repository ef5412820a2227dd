-- moveToAbandoned: the client running attempt A was lost (no heartbeat for activeTimeout). Releases the
-- clients; runnable again while triesLeft > 0 (decremented), else abandoned.
-- ARGV: prefix, now, id, attempt, reason ("" none). Returns 'ok', or 'stale' when the attempt is not the
-- current one or the job is no longer running.
-- @include endRun
local now, id, attempt, reason = tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), ARGV[5]
local key = K.job(id)
local status = redis.call('HGET', key, 'status')
if not status then
  return redis.error_reply('NOTFOUND job ' .. id .. ' does not exist')
end
if not isLive(key, status) or numField(key, 'attempt', 0) ~= attempt then
  return 'stale'
end
leaveClients(id)
appendLog(key, reason ~= '' and ('client lost: ' .. reason) or 'client lost', now)
-- A run of the onChildError hook alone is not retried.
if redis.call('HGET', key, 'childError') == '1' then
  finish(id, 'abandoned', now)
else
  retryOrEnd(id, now, 'abandoned')
end
return 'ok'
