-- pauseJobs: pauses the given jobs and their descendants. Waiting jobs become `paused` (and leave the queue);
-- running ones become `pausing` and their agents get a `pause` control message (confirmPaused follows).
-- ARGV: prefix, now, id... Returns the number of jobs changed.
-- @include setStatus
-- @include targets
local now = nowArg()
local count, err = changeTargets(3, function(id, key, status)
  if status == 'queued' or status == 'runnable' then
    setStatus(id, 'paused', now)
    return true
  elseif status == 'running' or status == 'resuming' then
    redis.call('HSET', key, 'pausedRunning', '1')
    sendControl(id, 'pause')
    setStatus(id, 'pausing', now)
    return true
  end
  return false
end)
return err or count
