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
-- (includes/bladeHealth.lua): jobFailures, quarantineFailures, quarantine window ms, probation ms, quarantine
-- max percent. Each client of
-- the attempt records it in its history; the master's success or failure (a stall included) counts for or
-- against it as a blade. Returns {result, log}: result 'ok', 'stale' or 'duplicate'; log 1 when the attempt has output
-- in Redis for the log store to seal (coordinator/logs), else 0.
-- @include endRun
-- @include fence
-- @include bladeHealth
-- The attempt and the exit code are used as their text (ARGV[4], ARGV[6]) where that does, and made numbers
-- only off the common success path: a tonumber is ~2k instructions, and a number concatenated into a key is
-- printed back with "%.14g".
local now, id, seq = nowArg(), ARGV[3], tonumber(ARGV[5])
local exitText, signal, reason = ARGV[6], ARGV[7], ARGV[8]
-- The bad-blade settings, read when a blade is to be judged: not on the common end, a success where no frame
-- of the tree has failed on a blade (its five tonumber calls are a percent of this transition).
local function bladeOpts()
  return { jobFailures = tonumber(ARGV[10]), quarantineFailures = tonumber(ARGV[11]),
    windowMs = tonumber(ARGV[12]), probationMs = tonumber(ARGV[13]), maxPercent = tonumber(ARGV[14]) }
end
local key = K.job(id)
-- The fence and this transition read the job in one HGETALL (fenceLiveJob); eventSeq is written with the
-- transition's fields.
local status, refused, j = fenceLiveJob(key, id, seq)
local log = redis.call('EXISTS', K.jobLog(id, ARGV[4]))
if refused then
  if type(refused) == 'table' then
    return refused
  end
  return { refused, log }
end
local ok = exitText == '0' and signal == '' and (reason == 'exited' or reason == '')
local root = j.root or id

-- The attempt goes into the history of each of its clients (`ids`: clientIdsOf the field, when the caller
-- has them); returns its master (nil without clients).
local function recordAttempt(result, ids)
  if not j.clients then
    return nil
  end
  ids = ids or clientIdsOf(j.clients)
  -- {t, job, name, result, ms, exit?, signal?} as text: cjson would format each number as a float.
  local ms = now - (tonumber(j.startTime) or now) - (tonumber(j.pausedMs) or 0)
  -- The job's id as given: its hash exists under that text, so it is the id's own text.
  local entry = '{"t":' .. int(now) .. ',"job":' .. id ..
    (j.name and (',"name":' .. cjson.encode(j.name)) or '') .. ',"result":"' .. result .. '","ms":' .. int(ms) ..
    (exitText ~= '' and (',"exit":' .. exitText) or '') .. (signal ~= '' and (',"signal":' .. cjson.encode(signal)) or '') .. '}'
  for i = 1, #ids do
    bladeEvent(ids[i], entry)
  end
  return ids[1]
end
-- The common end, a root job without children whose command succeeded, in one pass over what was read:
-- the same effects as the general path below (leaveClients, then finish), in fewer calls. The job is its own
-- root here (no parents): the root's okOn and bladeFailed were read with it.
if ok and not j.childError and not j.kidsLeft and not j.kidsBad and not j.parents and not j.pausedRunning
    and ((j.command and j.command ~= '') or j.commandByOs) then
  local ids = j.clients and clientIdsOf(j.clients)
  local released = releaseClients(id, { held = j.heldResources, ids = ids,
    slots = { j.slotsHeld, j.share, j.submittedBy } }, true)
  local set = { 'progress', '1', 'eventSeq', ARGV[5], 'slotsHeld', '0' }
  local master = recordAttempt('succeeded', ids)
  local okOn = master and bladeSucceeded(master, root, now, j.bladeFailed and bladeOpts(),
    { okOn = j.okOn, failed = j.bladeFailed }, j.onProbation)
  if okOn then
    table.insert(set, okOn[1])
    table.insert(set, okOn[2])
  end
  local progress = tonumber(j.progress) or 0
  if not j.noProg and progress ~= 1 then
    if j.nKids then
      redis.call('HINCRBYFLOAT', key, 'treeP', 1 - progress)
    else
      -- Without children the job's treeP is its own progress.
      table.insert(set, 'treeP')
      table.insert(set, '1')
    end
  end
  setStatus(id, 'succeeded', now, { status = status, parents = false, logs = j.logs or false,
    set = set, released = released })
  return { 'ok', log }
end
redis.call('HSET', key, 'eventSeq', ARGV[5])
leaveClients(id)
local attempt, exitCode = tonumber(ARGV[4]), tonumber(exitText)
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
local opts = bladeOpts()
-- A run of the onChildError hook says nothing about the blade.
if master and j.childError ~= '1' then
  if ok then
    bladeSucceeded(master, root, now, opts, nil, j.onProbation)
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
