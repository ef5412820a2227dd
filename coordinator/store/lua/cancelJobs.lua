-- cancelJobs: cancels the given jobs and all their descendants. Running attempts get a `cancel` control
-- message (the agent kills the process group and runs onCancel) and release their clients at once.
-- ARGV: prefix, now, id... Returns the number of jobs cancelled.
-- @include settle
-- @include releaseClients
-- @include targets
local now = nowArg()
local targets, err = cascadeTargets(3)
if err then
  return err
end
for _, id in ipairs(targets) do
  skipSettling(id)
end
local count = 0
for _, id in ipairs(targets) do
  local key = K.job(id)
  local status = redis.call('HGET', key, 'status')
  if not FINISHED[status] then
    if RUNNING[status] or redis.call('HEXISTS', key, 'pausedRunning') == 1 then
      sendControl(id, 'cancel')
      releaseClients(id)
    end
    finish(id, 'cancelled', now)
    count = count + 1
  end
end
return count
