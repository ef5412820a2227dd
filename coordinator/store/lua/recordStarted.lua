-- recordStarted: the agent started attempt A's process. Adds the `started` log entry (an event name of
-- getStartedJobEventNames). ARGV: prefix, now, id, attempt, seq, clientId.
-- Returns 'ok', 'stale' (not the current attempt, or the job is no longer running) or 'duplicate'.
-- @include fence
local now, id, seq = nowArg(), ARGV[3], tonumber(ARGV[5])
local key = K.job(id)
local _, refused, read = fenceLiveRead(key, id, seq, { 'logs' })
if refused then
  return refused
end
redis.call('HSET', key, 'logs', logsWith(read[1] or nil, 'started', now), 'eventSeq', ARGV[5])
return 'ok'
