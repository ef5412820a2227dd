-- confirmPaused: the agent suspended attempt A: pausing -> paused.
-- ARGV: prefix, now, id, attempt, seq. Returns 'ok', 'stale' (also when the job is not pausing) or 'duplicate'.
-- @include setStatus
-- @include fence
local prefix, now, id, attempt, seq = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local key = jobKey(prefix, id)
local status = redis.call('HGET', key, 'status')
if not status then
  return redis.error_reply('NOTFOUND job ' .. id .. ' does not exist')
end
if not isLive(key, status) then
  return 'stale'
end
local fenced = fenceEvent(key, attempt, seq)
if fenced then
  return fenced
end
if status == 'pausing' then
  setStatus(prefix, id, 'paused', now)
end
return 'ok'
