-- requeueLost: attempt A of a job was committed to a client that never got it (the coordinator died between
-- moveToAssigned and sending `assign`, or the agent restarted without it): back to the queue (or to waiting,
-- should the run have added children to its job), without using up a try, because the job never ran to an
-- end. A stale attempt or a job no longer running changes nothing.
-- ARGV: prefix, now, id, attempt, clientId. Returns 1 when applied.
-- @include setStatus
-- @include endRun
local now, id, attempt = nowArg(), ARGV[3], tonumber(ARGV[4])
local key = K.job(id)
local status = redis.call('HGET', key, 'status')
if status ~= 'running' or numField(key, 'attempt', 0) ~= attempt then
  return 0
end
leaveClients(id)
requeue(id, now, 'assignment to client ' .. ARGV[5] .. ' was lost: requeued')
return 1
