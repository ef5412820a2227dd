-- confirmPaused: the agent suspended attempt A: pausing -> paused.
-- ARGV: prefix, now, id, attempt, seq. Returns 'ok', 'stale' (also when the job is not pausing) or 'duplicate'.
-- @include setStatus
-- @include fence
local now, id, attempt, seq = tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local key = K.job(id)
local status, refused = fenceLiveEvent(key, id, attempt, seq)
if refused then
  return refused
end
if status == 'pausing' then
  setStatus(id, 'paused', now)
end
return 'ok'
