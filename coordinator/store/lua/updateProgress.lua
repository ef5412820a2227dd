-- updateProgress: sets the progress (0..1, clamped) of attempt A of a running job, rolled up to its ancestors.
-- ARGV: prefix, now, id, attempt, seq, progress. Returns 'ok', 'stale' or 'duplicate'.
-- @include fence
local id, seq, progress = ARGV[3], tonumber(ARGV[5]), tonumber(ARGV[6])
local key = K.job(id)
local _, refused = fenceLiveEvent(key, id, seq)
if refused then
  return refused
end
if progress < 0 then
  progress = 0
elseif progress > 1 then
  progress = 1
end
setProgress(id, progress)
return 'ok'
