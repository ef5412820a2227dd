-- ejectJobs: takes the running attempts of the given jobs and their descendants off their clients (agents get
-- an `eject` control message and kill the process) and puts the jobs back in the queue (or waiting, when the
-- run added children to its own job). triesLeft is kept.
-- ARGV: prefix, now, id... Returns the number of jobs ejected.
-- @include endRun
-- @include targets
local now = nowArg()
local count, err = changeTargets(3, function(id, key, status)
  if not isLive(key, status) then
    return false
  end
  sendControl(id, 'eject')
  leaveClients(id)
  requeue(id, now, 'ejected')
  return true
end)
return err or count
