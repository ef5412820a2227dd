-- moveToFinished: the agent reports that attempt A ended. Fenced (fence.lua): a stale attempt, a duplicate,
-- or a job that is no longer running changes nothing.
--   exited with 0 (no signal)  -> succeeded, or `queued` when the job gained children while it ran
--   any other exit / spawnError -> runnable again while triesLeft > 0 (decremented), else failed
--   reason cancelled / maxTime  -> cancelled (maxTime is HQueue's automatic cancel)
--   reason stalled              -> a failure (retried per triesLeft): the agent killed a run silent for its
--                                  stallTimeout; logged "stalled: no output for N s"
-- A job run only for its onChildError hook (childError) ends failed whatever the exit. Releases the clients.
-- A failure keeps its reason as the job's lastError: the attempt's last output line, else why it failed.
-- ARGV: prefix, now, id, attempt, seq, exitCode ("" none), signal ("" none), reason (exited|cancelled|maxTime|
-- stalled|spawnError), stalledAfter (seconds, with reason stalled), then the bad-blade settings openhq.blade.*
-- (includes/bladeHealth.lua): jobFailures, quarantineFailures, quarantine window ms, probation ms. Each client of
-- the attempt records it in its history; the master's success or failure (a stall included) counts for or
-- against it as a blade. Returns {result, log}: result 'ok', 'stale' or 'duplicate'; log 1 when the attempt has output
-- in Redis for the log store to seal (coordinator/logs), else 0.
-- @include endRun
-- @include fence
-- @include bladeHealth
local now, id, attempt, seq = tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local exitCode, signal, reason = tonumber(ARGV[6]), ARGV[7], ARGV[8]
local opts = { jobFailures = tonumber(ARGV[10]), quarantineFailures = tonumber(ARGV[11]),
  windowMs = tonumber(ARGV[12]), probationMs = tonumber(ARGV[13]) }
local key = K.job(id)
-- The fence and this transition read the job in one HMGET; eventSeq is written with the transition's fields.
local status, refused, v = fenceLiveRead(key, id, attempt, seq, { 'heldResources', 'clients', 'childError',
  'kidsLeft', 'kidsBad', 'parents', 'pausedRunning', 'command', 'commandByOs', 'progress', 'noProg', 'logs', 'nKids',
  'name', 'startTime', 'root', 'pausedMs' })
local log = redis.call('EXISTS', K.jobLog(id, attempt))
if refused then
  if type(refused) == 'table' then
    return refused
  end
  return { refused, log }
end
local ok = exitCode == 0 and signal == '' and (reason == 'exited' or reason == '')
local root = v[16] or id

-- The attempt goes into the history of each of its clients; returns its master (nil without clients).
local function recordAttempt(result)
  if not v[2] then
    return nil
  end
  local clients = cjson.decode(v[2])
  local entry = { t = now, job = tonumber(id), name = v[14], result = result, ms = now - (tonumber(v[15]) or now) - (tonumber(v[17]) or 0) }
  if exitCode then entry.exit = exitCode end
  if signal ~= '' then entry.signal = signal end
  for _, c in ipairs(clients) do
    bladeEvent(string.format('%d', c.clientId), entry)
  end
  return clients[1] and string.format('%d', clients[1].clientId)
end
-- The common end, a root job without children whose command succeeded, in one pass over what was read:
-- the same effects as the general path below (leaveClients, then finish), in fewer calls.
if ok and not v[3] and not v[4] and not v[5] and not v[6] and not v[7] and ((v[8] and v[8] ~= '') or v[9]) then
  local released = releaseClients(id, { v[1], v[2] }, true)
  bladeSucceeded(recordAttempt('succeeded'), root, now, opts)
  local set = { 'progress', 1, 'eventSeq', seq }
  local progress = tonumber(v[10]) or 0
  if not v[11] and progress ~= 1 then
    if v[13] then
      redis.call('HINCRBYFLOAT', key, 'treeP', 1 - progress)
    else
      -- Without children the job's treeP is its own progress.
      set[5], set[6] = 'treeP', 1
    end
  end
  setStatus(id, 'succeeded', now, { status = status, parents = false, logs = v[12] or false,
    set = set, released = released })
  return { 'ok', log }
end
redis.call('HSET', key, 'eventSeq', seq)
leaveClients(id)
local why = nil
if reason == 'maxTime' then
  appendLog(key, 'maximum run time exceeded', now)
elseif reason == 'stalled' then
  why = 'stalled: no output for ' .. (tonumber(ARGV[9]) or '?') .. ' s'
elseif reason == 'spawnError' then
  why = 'the command could not be started'
elseif not ok and reason ~= 'cancelled' then
  why = signal ~= '' and ('killed by signal ' .. signal) or ('exited with code ' .. (exitCode or '?'))
end
if why then
  appendLog(key, why, now)
  -- Why it failed, kept on the job at the end of the attempt: no log is read per page view.
  redis.call('HSET', key, 'lastError', lastErrorLine(id, attempt) or why)
end
local master = recordAttempt(ok and 'succeeded' or (reason == 'exited' or reason == '') and 'failed' or reason)
-- A run of the onChildError hook says nothing about the blade.
if master and v[3] ~= '1' then
  if ok then
    bladeSucceeded(master, root, now, opts)
  elseif why then
    bladeFailed(master, id, attempt, root, now, why, exitCode, signal, opts)
    -- Before the job's own notice (published by the retry below): its retry should go elsewhere.
    redis.call('PUBLISH', K.eventsChannel, '{"type":"avoid","jobId":' .. id .. ',"clientId":' .. master .. '}')
  end
end

if reason == 'cancelled' or reason == 'maxTime' then
  finish(id, 'cancelled', now)
elseif redis.call('HGET', key, 'childError') == '1' then
  finish(id, 'failed', now)
elseif ok then
  if numField(key, 'kidsLeft', 0) > 0 then
    redis.call('HSET', key, 'cmdDone', '1')
    setProgress(id, 1)
    setStatus(id, 'queued', now)
  elseif numField(key, 'kidsBad', 0) > 0 then
    local work = {}
    resolveWaiting(id, now, work)
    settle(now, work)
  else
    finish(id, 'succeeded', now)
  end
else
  retryOrEnd(id, now, 'failed')
end
return { 'ok', log }
