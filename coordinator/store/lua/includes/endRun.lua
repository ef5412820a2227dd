-- @include settle
-- @include releaseClients
-- How a run ends without finishing its job for good (moveToFinished, moveToLost, ejectJobs).

-- The run leaves its clients (and their resources); a paused run is no longer paused on a client.
local function leaveClients(id)
  releaseClients(id)
  redis.call('HDEL', K.job(id), 'pausedRunning')
end

-- Back to the queue with progress 0 and the log entry `text`, or to waiting first when the run added
-- children to its own job.
local function requeue(id, now, text)
  setProgress(id, 0)
  appendLog(K.job(id), text, now)
  local work = {}
  resolveIdle(id, now, work)
  settle(now, work)
end

-- A run that failed: requeued while triesLeft > 0 (decremented), else the job ends with status `final`.
local function retryOrEnd(id, now, final)
  local key = K.job(id)
  local tries = numField(key, 'triesLeft', 0)
  if tries > 0 then
    redis.call('HSET', key, 'triesLeft', tries - 1)
    requeue(id, now, 'rescheduled (' .. (tries - 1) .. ' tries left)')
  else
    finish(id, final, now)
  end
end
