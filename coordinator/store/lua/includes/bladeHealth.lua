-- @include util
-- @include noteThreads
-- Bad blades (docs/DESIGN.md "Bad blades"): what the end of an attempt says about the blade it ran on.
--   {p}client:{id}:attempts  LIST  the blade's history, newest first: {t, job, name, result, exit?, signal?, ms}
--                                  per attempt, {t, event, why?, job?} per blocklisting, quarantine, release
--   {p}client:{id}:fails     LIST  its recent failures, newest first: {t, job, root, exit?, signal?, why, last}
--   {p}client:{id}:blocked   ZSET  root ids the blade is blocklisted for -> when (ms)
--   {p}job:{root}:bladeFails HASH  client id -> failures of the tree's frames on it
--   {p}job:{root}:blocked    SET   client ids blocklisted for the tree (the scheduler keeps them off it while
--                                  another eligible blade exists: scheduler/dispatch.ts)
--   root job fields okOn     up to 2 client ids a frame of the tree succeeded on, comma-separated ("succeeds
--                            elsewhere"), and bladeFailed '1' once a frame of the tree failed on a blade: a
--                            success reads them with the job it finishes when that is its own root (no call)
--   client fields quarantinedUntil (ms), probation ('1' from quarantine until a frame assigned to it on
--   probation succeeds), and quarantineReason (JSON {why, since, failures}).
--   job field onProbation   '1' when its master was on probation as the run was assigned (moveToAssigned)
--   {p}blades:quarantined    ZSET  client id -> quarantinedUntil of the blades quarantined now (those past it
--                                  are dropped when the next is judged): their number is capped
-- `opts` comes from the coordinator's settings (openhq.blade.*, coordinator/config.ts):
--   {jobFailures, quarantineFailures, windowMs, probationMs, maxPercent}.
local BLADE_HISTORY = 200 -- attempts and events kept per client
local BLADE_FAILS = 20 -- recent failures kept per client: the most openhq.blade.quarantineFailures allows
local JOB_BLADES = 1000 -- blades whose failures one job tree counts
local CLIENT_BLOCKS = 1000 -- job trees one blade is blocklisted for (the oldest is dropped past it)
local CLIENT_ERRORS = 100 -- getClientErrors records per client
local LAST_LINES = 300 -- bytes of an attempt's output tail kept with its failure
local LAST_ERROR = 200 -- bytes of a failed attempt's last output line kept as the job's lastError

-- Trimmed now and then rather than on every push: the list stays near its cap. `entry`: a table, or its JSON.
local function bladeEvent(cid, entry)
  local text = type(entry) == 'string' and entry or cjson.encode(entry)
  if redis.call('LPUSH', K.clientAttempts(cid), text) > BLADE_HISTORY + 20 then
    redis.call('LTRIM', K.clientAttempts(cid), 0, BLADE_HISTORY - 1)
  end
end

local function bladeError(cid, record)
  if redis.call('LPUSH', K.clientErrors(cid), cjson.encode(record)) > CLIENT_ERRORS + 10 then
    redis.call('LTRIM', K.clientErrors(cid), 0, CLIENT_ERRORS - 1)
  end
end

-- Schedulers re-read the client (quarantine, blocklists): scheduler/index.ts.
local function bladeChanged(cid)
  redis.call('PUBLISH', K.eventsChannel, '{"type":"blade","clientId":' .. cid .. '}')
end

local function bladeLabel(cid)
  local c = redis.call('HMGET', K.client(cid), 'label', 'hostname')
  return c[1] or c[2] or ('client ' .. cid)
end

-- The newest output of attempt `attempt` of job `id` still in Redis (the rest is in the log store), cut to
-- its last LAST_LINES bytes: the "last lines" a failure carries.
local function lastLines(id, attempt)
  local chunk = redis.call('LINDEX', K.jobLogQueue(id, attempt), -1)
  if not chunk then
    return ''
  end
  if #chunk > LAST_LINES then
    chunk = string.sub(chunk, -LAST_LINES)
  end
  return chunk
end

-- The last non-empty line of that output, for the job's lastError (the frame table's "Last error" column and
-- the failures panel): control characters made spaces, cut to LAST_ERROR bytes on a character boundary.
-- nil when the attempt left no output in Redis (a log flushed to the file store at that very moment included).
local function lastErrorLine(id, attempt)
  local line = nil
  for l in string.gmatch(lastLines(id, attempt), '[^\r\n]+') do
    if string.find(l, '%S') then
      line = l
    end
  end
  if not line then
    return nil
  end
  -- The tail may begin inside a character: drop its continuation bytes.
  line = string.gsub(string.gsub(line, '%c', ' '), '^[\128-\191]+', '')
  line = string.match(line, '^%s*(.-)%s*$')
  if #line > LAST_ERROR then
    local cut = LAST_ERROR
    while cut > 0 and string.byte(line, cut + 1) >= 128 and string.byte(line, cut + 1) < 192 do
      cut = cut - 1
    end
    line = string.sub(line, 1, cut) .. '...'
  end
  return line
end

-- At most opts.maxPercent of the farm's blades (at least one) is in quarantine at once. Many blades failing
-- alike is the farm's fault or the job's (a licence server, a mount, frames that fail once wherever they run),
-- not theirs, and quarantining them all would stop the farm; a blade held back keeps its retry avoidance and
-- per-tree blocklists. (Envoy caps its outlier ejection the same way: max_ejection_percent.)
local function quarantineRoom(cid, now, opts)
  redis.call('ZREMRANGEBYSCORE', K.bladesQuarantined, '-inf', now)
  if redis.call('ZSCORE', K.bladesQuarantined, cid) then
    return true
  end
  local farm = redis.call('HLEN', K.clientsByLabel)
  local cap = math.max(1, math.floor(farm * opts.maxPercent / 100))
  local held = redis.call('ZCARD', K.bladesQuarantined)
  if held < cap then
    return true
  end
  bladeEvent(cid, { t = now, event = 'notQuarantined', why = held .. ' of ' .. farm ..
    ' blades are quarantined already (openhq.blade.quarantineMaxPercent ' .. opts.maxPercent .. ')' })
  return false
end

local function quarantineBlade(cid, now, why, failures, opts)
  if not quarantineRoom(cid, now, opts) then
    return
  end
  redis.call('HSET', K.client(cid), 'quarantinedUntil', now + opts.probationMs, 'probation', '1',
    'quarantineReason', cjson.encode({ why = why, since = now, failures = failures }))
  redis.call('ZADD', K.bladesQuarantined, now + opts.probationMs, cid)
  bladeEvent(cid, { t = now, event = 'quarantined', why = why })
  bladeError(cid, { message = 'quarantined: ' .. why, time = now })
  local text = { 'Quarantined: ' .. why .. '. Probation in ' .. math.floor(opts.probationMs / 60000) ..
    ' min, or releaseClient.' }
  for _, f in ipairs(failures) do
    text[#text + 1] = 'job ' .. f.job .. ': ' .. f.why .. (f.last ~= '' and (' | ' .. f.last) or '')
  end
  addNoteTo('client', cid, table.concat(text, '\n'), now)
  bladeChanged(cid)
end

-- Ends a blade's quarantine and probation: its fields and its place in {p}blades:quarantined, in one place so
-- that the cap's count never keeps a blade that is back. False when it had neither; else the blade's history
-- gets `why` and its notes `note`, and the schedulers re-read it.
local function endQuarantine(cid, now, why, note)
  redis.call('ZREM', K.bladesQuarantined, cid)
  if redis.call('HDEL', K.client(cid), 'quarantinedUntil', 'probation', 'quarantineReason') == 0 then
    return false
  end
  bladeEvent(cid, { t = now, event = 'released', why = why })
  addNoteTo('client', cid, note, now)
  bladeChanged(cid)
  return true
end

-- Quarantines blade `cid` when its failures within the window, of jobs that succeed elsewhere, reach
-- opts.quarantineFailures over at least 2 job trees.
local function judgeBlade(cid, now, opts)
  if opts.quarantineFailures == 0 or (tonumber(redis.call('HGET', K.client(cid), 'quarantinedUntil')) or 0) > now then
    return
  end
  local elsewhere, recent, trees = {}, {}, 0
  for _, text in ipairs(redis.call('LRANGE', K.clientFails(cid), 0, -1)) do
    local f = cjson.decode(text)
    if f.t >= now - opts.windowMs then
      local root = tostring(f.root)
      if elsewhere[root] == nil then
        elsewhere[root] = false
        for other in string.gmatch(redis.call('HGET', K.job(root), 'okOn') or '', '[^,]+') do
          if other ~= cid then
            elsewhere[root] = true
          end
        end
        if elsewhere[root] then
          trees = trees + 1
        end
      end
      if elsewhere[root] then
        recent[#recent + 1] = f
      end
    end
  end
  if #recent >= opts.quarantineFailures and trees >= 2 then
    quarantineBlade(cid, now, #recent .. ' failed frames of ' .. trees .. ' jobs within ' ..
      math.floor(opts.windowMs / 60000) .. ' min, jobs that succeed elsewhere', recent, opts)
  end
end

-- Attempt `attempt` of job `id` (tree `root`) failed on blade `cid` (its master): counts against the blade
-- for the tree (blocklist) and for the farm (quarantine); a failure on probation quarantines it again.
local function bladeFailed(cid, id, attempt, root, now, why, exit, signal, opts)
  local failure = { t = now, job = tonumber(id), root = tonumber(root), why = why, last = lastLines(id, attempt) }
  if exit then failure.exit = exit end
  if signal ~= '' then failure.signal = signal end
  redis.call('LPUSH', K.clientFails(cid), cjson.encode(failure))
  redis.call('LTRIM', K.clientFails(cid), 0, BLADE_FAILS - 1)
  bladeError(cid, { message = 'job ' .. id .. ': ' .. why, time = now, jobId = tonumber(id), exitCode = exit,
    lastLines = failure.last })
  local fk = K.jobBladeFails(root)
  if redis.call('EXISTS', K.job(root)) == 1 then
    redis.call('HSET', K.job(root), 'bladeFailed', '1')
  end
  if redis.call('HEXISTS', fk, cid) == 1 or redis.call('HLEN', fk) < JOB_BLADES then
    local n = redis.call('HINCRBY', fk, cid, 1)
    if opts.jobFailures > 0 and n >= opts.jobFailures and redis.call('SADD', K.jobBlocked(root), cid) == 1 then
      redis.call('ZADD', K.clientBlocked(cid), now, root)
      if redis.call('ZCARD', K.clientBlocked(cid)) > CLIENT_BLOCKS then
        local oldest = redis.call('ZPOPMIN', K.clientBlocked(cid))
        redis.call('SREM', K.jobBlocked(oldest[1]), cid)
      end
      appendLog(K.job(root), 'blade ' .. bladeLabel(cid) .. ' blocklisted for this job after ' .. n .. ' failures', now)
      bladeEvent(cid, { t = now, event = 'blocklisted', job = tonumber(root) })
      bladeChanged(cid)
    end
  end
  local c = redis.call('HMGET', K.client(cid), 'quarantinedUntil', 'probation')
  if c[2] == '1' and (tonumber(c[1]) or 0) <= now then
    quarantineBlade(cid, now, 'failed again on probation', { failure }, opts)
  else
    judgeBlade(cid, now, opts)
  end
end

-- A frame of tree `root` succeeded on blade `cid`: the first success on a second blade is news for the
-- blades that failed the tree (it now "succeeds elsewhere"); a frame that ran on probation (`onProbation`:
-- the job's field, written by moveToAssigned when its master was on probation) puts the blade back to work,
-- so only such a success reads the blade's record. `known` (optional): the root's okOn and bladeFailed as
-- the caller read them, when the job it finishes is the root; a new okOn is then returned as {field, value}
-- for the caller's own HSET (unless a failed blade is judged now, which reads it: then it is written here).
local function bladeSucceeded(cid, root, now, opts, known, onProbation)
  local rk = K.job(root)
  local okOn, failed, gone = nil, nil, false
  if known then
    okOn, failed = known.okOn, known.failed
  else
    local r = redis.call('HMGET', rk, 'okOn', 'bladeFailed', 'status')
    okOn, failed, gone = r[1], r[2], not r[3]
  end
  local set = nil
  if not gone and (not okOn or (not string.find(okOn, ',', 1, true) and okOn ~= cid)) then
    okOn = okOn and (okOn .. ',' .. cid) or cid
    if known and not failed then
      set = { 'okOn', okOn }
    else
      redis.call('HSET', rk, 'okOn', okOn)
    end
    if failed then
      for _, other in ipairs(redis.call('HKEYS', K.jobBladeFails(root))) do
        if other ~= cid then
          judgeBlade(other, now, opts)
        end
      end
    end
  end
  if onProbation and redis.call('HGET', K.client(cid), 'probation') == '1' then
    endQuarantine(cid, now, 'a frame succeeded on probation', 'Back to work: a frame succeeded on probation.')
  end
  return set
end

-- The run of job `id` was lost with its machine (moveToLost): each of its clients records the loss, in its
-- history and its error log (getClientErrors).
local function bladeLost(id, why, now)
  local v = redis.call('HMGET', K.job(id), 'clients', 'name', 'startTime', 'pausedMs')
  if not v[1] then
    return
  end
  local entry = { t = now, job = tonumber(id), name = v[2], result = 'lost', why = why,
    ms = now - (tonumber(v[3]) or now) - (tonumber(v[4]) or 0) }
  for _, c in ipairs(cjson.decode(v[1])) do
    local cid = string.format('%d', c.clientId)
    bladeEvent(cid, entry)
    bladeError(cid, { message = 'blade lost: ' .. why .. ' (job ' .. id .. ')', time = now, jobId = tonumber(id) })
  end
end

-- A blade's record when its tree is deleted (deleteJobs): the tree's counts go, and so do its blocklistings.
local function dropBladeRecords(id)
  for _, cid in ipairs(redis.call('SMEMBERS', K.jobBlocked(id))) do
    redis.call('ZREM', K.clientBlocked(cid), id)
  end
  -- jobOkOn: the set older versions kept instead of the root's okOn field.
  redis.call('DEL', K.jobBladeFails(id), K.jobBlocked(id), K.jobOkOn(id))
end

-- A client's records when it leaves the farm for good (removeClient): its history, failures and blocklistings.
local function dropBladeOf(cid)
  for _, root in ipairs(redis.call('ZRANGE', K.clientBlocked(cid), 0, -1)) do
    redis.call('SREM', K.jobBlocked(root), cid)
  end
  redis.call('DEL', K.clientAttempts(cid), K.clientFails(cid), K.clientBlocked(cid))
  redis.call('ZREM', K.bladesQuarantined, cid)
end
