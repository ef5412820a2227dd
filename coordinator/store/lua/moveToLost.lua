-- moveToLost: the machine running attempt A was lost (its agent process is gone, its link was silent past
-- activeTimeout or openhq.frozenTimeout, its restarted agent reported the attempt lost, or the blade was
-- removed). That is not the job's fault: the run leaves its clients (the other clients of a multi-host run are
-- told to stop it) and the job goes back to the queue without spending triesLeft, counting `lostAttempts`.
-- The loss that brings lostAttempts to maxLost ends the job `abandoned` instead, as HQueue does, so a job that
-- kills every machine it touches cannot loop forever. A run of the onChildError hook alone is requeued the
-- same way (childError stays set, so only the hook runs again). Each client of the run records the loss in
-- its history and error log (includes/bladeHealth.lua); a loss does not count as a failure of the blade.
-- The job's lastError becomes "blade lost: <label>, <why>".
-- ARGV: prefix, now, id, attempt, label, why, maxLost. Returns 'requeued' or 'abandoned', or 'stale' when the
-- attempt is not the current one or the job is no longer running.
-- @include endRun
-- @include bladeHealth
local now, id, attempt = nowArg(), ARGV[3], tonumber(ARGV[4])
local label, why, maxLost = ARGV[5], ARGV[6], tonumber(ARGV[7])
local key = K.job(id)
local status = redis.call('HGET', key, 'status')
if not status then
  return redis.error_reply('NOTFOUND job ' .. id .. ' does not exist')
end
if not isLive(key, status) or numField(key, 'attempt', 0) ~= attempt then
  return 'stale'
end
sendControl(id, 'eject')
bladeLost(id, why, now)
leaveClients(id)
local lost = redis.call('HINCRBY', key, 'lostAttempts', 1)
local entry = 'blade lost: ' .. label .. ', ' .. why
-- Why the attempt ended, where the frame table and failures panel read it (a failure's last line otherwise).
redis.call('HSET', key, 'lastError', string.sub(entry, 1, 200))
if lost >= maxLost then
  appendLog(key, entry .. ' (' .. lost .. ' of ' .. maxLost .. ' lost attempts: abandoned)', now)
  finish(id, 'abandoned', now)
  return 'abandoned'
end
requeue(id, now, entry .. ' (requeued; ' .. lost .. ' of ' .. maxLost .. ' lost attempts)')
return 'requeued'
