-- confirmPaused: the agent suspended attempt A: pausing -> paused. From now until confirmResumed the run's
-- processes are stopped: `pausedAt` marks the start of that span (run time excludes it: store/run-time.ts).
-- ARGV: prefix, now, id, attempt, seq. Returns 'ok', 'stale' (also when the job is not pausing) or 'duplicate'.
-- @include setStatus
-- @include fence
local now, id, key, status, refused = fenceLiveEventOfArgs()
if refused then
  return refused
end
-- A resume asked for before the agent confirmed the pause finds the job `resuming`: it is stopped all the same
-- until the agent's `resumed`.
if status == 'pausing' or status == 'resuming' then
  redis.call('HSETNX', key, 'pausedAt', now)
end
if status == 'pausing' then
  setStatus(id, 'paused', now)
end
return 'ok'
