-- ejectJobs: takes the running attempts of the given jobs and their descendants off their clients (agents get
-- an `eject` control message and kill the process) and puts the jobs back in the queue (or waiting, when the
-- run added children to its own job). triesLeft is kept.
-- ARGV: prefix, now, id... Returns the number of jobs ejected.
-- @include settle
-- @include releaseClients
-- @include targets
local prefix, now = ARGV[1], tonumber(ARGV[2])
local targets, err = cascadeTargets(prefix, 3)
if err then
  return err
end
local count = 0
for _, id in ipairs(targets) do
  local key = jobKey(prefix, id)
  local status = redis.call('HGET', key, 'status')
  if RUNNING[status] or (status == 'paused' and redis.call('HEXISTS', key, 'pausedRunning') == 1) then
    sendControl(prefix, id, 'eject')
    releaseClients(prefix, id)
    redis.call('HDEL', key, 'pausedRunning')
    setProgress(prefix, id, 0)
    appendLog(key, 'ejected', now)
    local work = {}
    resolveIdle(prefix, id, now, work)
    settle(prefix, now, work)
    count = count + 1
  end
end
return count
