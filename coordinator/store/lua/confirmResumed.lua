-- confirmResumed: the agent continued attempt A: resuming -> running (`resumed` log entry). The paused span
-- that confirmPaused opened is added to `pausedMs` (run time excludes it: store/run-time.ts).
-- ARGV: prefix, now, id, attempt, seq. Returns 'ok', 'stale' or 'duplicate'.
-- @include setStatus
-- @include fence
local now, id, key, status, refused = fenceLiveEventOfArgs()
if refused then
  return refused
end
local pausedAt = tonumber(redis.call('HGET', key, 'pausedAt'))
if pausedAt then
  redis.call('HINCRBY', key, 'pausedMs', math.max(0, math.floor(now - pausedAt)))
  redis.call('HDEL', key, 'pausedAt')
end
if status == 'resuming' then
  redis.call('HDEL', key, 'pausedRunning')
  appendLog(key, 'resumed', now)
  setStatus(id, 'running', now)
end
return 'ok'
