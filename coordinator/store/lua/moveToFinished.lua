-- moveToFinished: the agent reports that attempt A ended. Fenced (fence.lua): a stale attempt, a duplicate,
-- or a job that is no longer running changes nothing.
--   exited with 0 (no signal)  -> succeeded, or `queued` when the job gained children while it ran
--   any other exit / spawnError -> runnable again while triesLeft > 0 (decremented), else failed
--   reason cancelled / maxTime  -> cancelled (maxTime is HQueue's automatic cancel)
-- A job run only for its onChildError hook (childError) ends failed whatever the exit. Releases the clients.
-- ARGV: prefix, now, id, attempt, seq, exitCode ("" none), signal ("" none), reason (exited|cancelled|maxTime|
-- spawnError). Returns 'ok', 'stale' or 'duplicate'.
-- @include settle
-- @include releaseClients
-- @include fence
local prefix, now, id, attempt, seq = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local exitCode, signal, reason = tonumber(ARGV[6]), ARGV[7], ARGV[8]
local key = jobKey(prefix, id)
local status = redis.call('HGET', key, 'status')
if not status then
  return redis.error_reply('NOTFOUND job ' .. id .. ' does not exist')
end
if not isLive(key, status) then
  return 'stale'
end
local fenced = fenceEvent(key, attempt, seq)
if fenced then
  return fenced
end
releaseClients(prefix, id)
redis.call('HDEL', key, 'pausedRunning')
local ok = exitCode == 0 and signal == '' and (reason == 'exited' or reason == '')
if reason == 'maxTime' then
  appendLog(key, 'maximum run time exceeded', now)
elseif reason == 'spawnError' then
  appendLog(key, 'the command could not be started', now)
elseif not ok and reason ~= 'cancelled' then
  appendLog(key, signal ~= '' and ('killed by signal ' .. signal) or ('exited with code ' .. (exitCode or '?')), now)
end

if reason == 'cancelled' or reason == 'maxTime' then
  finish(prefix, id, 'cancelled', now)
elseif redis.call('HGET', key, 'childError') == '1' then
  finish(prefix, id, 'failed', now)
elseif ok then
  if numField(key, 'kidsLeft', 0) > 0 then
    redis.call('HSET', key, 'cmdDone', '1')
    setProgress(prefix, id, 1)
    setStatus(prefix, id, 'queued', now)
  elseif numField(key, 'kidsBad', 0) > 0 then
    local work = {}
    resolveWaiting(prefix, id, now, work)
    settle(prefix, now, work)
  else
    finish(prefix, id, 'succeeded', now)
  end
else
  local tries = numField(key, 'triesLeft', 0)
  if tries > 0 then
    redis.call('HSET', key, 'triesLeft', tries - 1)
    setProgress(prefix, id, 0)
    appendLog(key, 'rescheduled (' .. (tries - 1) .. ' tries left)', now)
    -- Back to the queue, or to waiting first when the run added children to its own job.
    local work = {}
    resolveIdle(prefix, id, now, work)
    settle(prefix, now, work)
  else
    finish(prefix, id, 'failed', now)
  end
end
return 'ok'
