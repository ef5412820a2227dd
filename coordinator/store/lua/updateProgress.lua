-- updateProgress: sets the progress (0..1, clamped) of attempt A of a running job, rolled up to its ancestors.
-- ARGV: prefix, now, id, attempt, seq, progress. Returns 'ok', 'stale' or 'duplicate'.
-- @include fence
local prefix, id, attempt, seq, progress = ARGV[1], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
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
if progress < 0 then
  progress = 0
elseif progress > 1 then
  progress = 1
end
setProgress(prefix, id, progress)
return 'ok'
