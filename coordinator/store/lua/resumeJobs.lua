-- resumeJobs: resumes the given jobs and their descendants. A paused running job becomes `resuming` and its
-- agents get a `resume` control message (confirmResumed follows); a paused waiting job goes back to
-- `queued` or `runnable` (or finishes, when its children finished meanwhile).
-- ARGV: prefix, now, id... Returns the number of jobs changed.
-- @include settle
-- @include targets
local now = nowArg()
local work = {}
-- Children first, so a parent sees its children's new state.
local count, err = changeTargets(3, function(id, key, status)
  if status == 'pausing' or (status == 'paused' and redis.call('HEXISTS', key, 'pausedRunning') == 1) then
    sendControl(id, 'resume')
    setStatus(id, 'resuming', now)
    return true
  elseif status == 'paused' then
    resolveIdle(id, now, work)
    return true
  end
  return false
end, true)
if err then
  return err
end
settle(now, work)
return count
