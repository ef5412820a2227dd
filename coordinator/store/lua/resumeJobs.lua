-- resumeJobs: resumes the given jobs and their descendants. A paused running job becomes `resuming` and its
-- agents get a `resume` control message (confirmResumed follows); a paused waiting job goes back to
-- `queued` or `runnable` (or finishes, when its children finished meanwhile).
-- ARGV: prefix, now, id... Returns the number of jobs changed.
-- @include settle
-- @include targets
local prefix, now = ARGV[1], tonumber(ARGV[2])
local targets, err = cascadeTargets(prefix, 3)
if err then
  return err
end
local count = 0
local work = {}
-- Children first, so a parent sees its children's new state.
for i = #targets, 1, -1 do
  local id = targets[i]
  local key = jobKey(prefix, id)
  local status = redis.call('HGET', key, 'status')
  if status == 'pausing' or (status == 'paused' and redis.call('HEXISTS', key, 'pausedRunning') == 1) then
    sendControl(prefix, id, 'resume')
    setStatus(prefix, id, 'resuming', now)
    count = count + 1
  elseif status == 'paused' then
    resolveIdle(prefix, id, now, work)
    count = count + 1
  end
end
settle(prefix, now, work)
return count
