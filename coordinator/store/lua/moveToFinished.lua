-- moveToFinished: the agent reports that attempt A ended. Fenced (fence.lua): a stale attempt, a duplicate,
-- or a job that is no longer running changes nothing.
--   exited with 0 (no signal)  -> succeeded, or `queued` when the job gained children while it ran
--   any other exit / spawnError -> runnable again while triesLeft > 0 (decremented), else failed
--   reason cancelled / maxTime  -> cancelled (maxTime is HQueue's automatic cancel)
-- A job run only for its onChildError hook (childError) ends failed whatever the exit. Releases the clients.
-- ARGV: prefix, now, id, attempt, seq, exitCode ("" none), signal ("" none), reason (exited|cancelled|maxTime|
-- spawnError). Returns 'ok', 'stale' or 'duplicate'.
-- @include endRun
-- @include fence
local prefix, now, id, attempt, seq = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local exitCode, signal, reason = tonumber(ARGV[6]), ARGV[7], ARGV[8]
local key = jobKey(prefix, id)
local _, refused = fenceLiveEvent(key, id, attempt, seq)
if refused then
  return refused
end
leaveClients(prefix, id)
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
  retryOrEnd(prefix, id, now, 'failed')
end
return 'ok'
