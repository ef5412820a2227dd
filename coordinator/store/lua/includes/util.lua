-- Shared helpers: every script gets these first. Lists of ids are stored as compact JSON ("[1,2]"); an empty
-- list is stored as an absent field (cjson would encode {} for it).
local RUNNING = { running = true, pausing = true, resuming = true }
local FINISHED = { succeeded = true, failed = true, cancelled = true, abandoned = true }
local QUEUE_SHIFT = 4294967296
-- An empty list or map a script reads where a field is absent, instead of a table made per call. Never written
-- to.
local EMPTY = {}

-- An integer (ms times, ids, counts) as text. Redis 7.0 formats a number handed to redis.call with "%.17g",
-- and Lua concatenation with "%.14g": glibc's multi-precision float printing, thousands of instructions for a
-- 13-digit ms time, which was a tenth of a hot transition's cost. '%d' takes the integer path. The last
-- value's text is kept: a transition writes its time in several places in a row (log entry, endTime, expiry).
local INT_LAST, INT_LAST_TEXT = nil, nil
local function int(n)
  if n ~= INT_LAST then
    INT_LAST, INT_LAST_TEXT = n, string.format('%d', n)
  end
  return INT_LAST_TEXT
end

-- The call's time (ARGV[2], ms) as a number, with int() primed to give ARGV[2] itself for it: the text is
-- there already, and a transition writes its time in several places.
local function nowArg()
  local now = tonumber(ARGV[2])
  INT_LAST, INT_LAST_TEXT = now, ARGV[2]
  return now
end


local function idList(value)
  if not value or value == '' then
    return {}
  end
  return cjson.decode(value)
end

-- The client ids in a job's `clients` field, as text, master first: a pattern match where cjson.decode would
-- make a table per client and numbers to be formatted back into keys. moveToAssigned writes each entry with
-- "clientId":<digits>; a hostname cannot hold that text, as its quotes are escaped (\").
local function clientIdsOf(clients)
  local ids = {}
  for cid in string.gmatch(clients, '"clientId":(%d+)') do
    ids[#ids + 1] = cid
  end
  return ids
end

local function encodeIds(list)
  local parts = {}
  for i, v in ipairs(list) do
    parts[i] = string.format('%d', v)
  end
  return '[' .. table.concat(parts, ',') .. ']'
end

-- Writes an id list, deleting the field when the list is empty.
local function putIds(key, field, list)
  if #list == 0 then
    redis.call('HDEL', key, field)
  else
    redis.call('HSET', key, field, encodeIds(list))
  end
end

-- Appends ids to a stored id list without decoding it: a parent gaining 100,000 children 500 a call copies
-- its list once a call instead of decoding and re-encoding it.
local function appendIds(key, field, list)
  if #list == 0 then
    return
  end
  local old = redis.call('HGET', key, field)
  local added = string.sub(encodeIds(list), 2, -2)
  if not old or old == '' or old == '[]' then
    redis.call('HSET', key, field, '[' .. added .. ']')
  else
    redis.call('HSET', key, field, string.sub(old, 1, -2) .. ',' .. added .. ']')
  end
end

-- A job's whole hash as field -> value, in one pass: an HMGET of many fields looks each one up in turn, and
-- a small hash (a listpack) is scanned from its start for every field asked for, present or not.
local function readHash(key)
  local flat = redis.call('HGETALL', key)
  local h = {}
  for i = 1, #flat, 2 do
    h[flat[i]] = flat[i + 1]
  end
  return h
end

local function numField(key, field, default)
  local v = redis.call('HGET', key, field)
  if not v then
    return default
  end
  return tonumber(v)
end

-- Every job id in `ids` must exist, or the whole script fails before it changes anything.
local function requireJobs(ids)
  for _, id in ipairs(ids) do
    if redis.call('EXISTS', K.job(id)) == 0 then
      return redis.error_reply('NOTFOUND job ' .. id .. ' does not exist')
    end
  end
  return nil
end

-- The job ids ARGV[firstArg..], and the NOTFOUND reply when one of them does not exist (then change nothing).
local function givenJobs(firstArg)
  local given = {}
  for i = firstArg, #ARGV do
    given[#given + 1] = ARGV[i]
  end
  return given, requireJobs(given)
end

-- An id list without `id`.
local function withoutId(list, id)
  local out = {}
  for _, v in ipairs(list) do
    if tonumber(v) ~= tonumber(id) then
      out[#out + 1] = v
    end
  end
  return out
end

-- True while the job's current attempt may still report: it is running, or paused on its client.
local function isLive(key, status)
  return RUNNING[status] or (status == 'paused' and redis.call('HEXISTS', key, 'pausedRunning') == 1)
end

-- The job's `logs` (compact JSON, or nil) with [text, ms] appended, keeping the newest 50 entries; `json` is
-- the text already encoded (cjson.encode).
local function logsWithJson(logs, json, now)
  local entry = '[' .. json .. ',' .. int(now) .. ']'
  if not logs then
    return '[' .. entry .. ']'
  end
  logs = string.sub(logs, 1, -2) .. ',' .. entry .. ']'
  if #logs > 3000 then
    local list = cjson.decode(logs)
    while #list > 50 do
      table.remove(list, 1)
    end
    local parts = {}
    for i, e in ipairs(list) do
      parts[i] = '[' .. cjson.encode(e[1]) .. ',' .. string.format('%d', e[2]) .. ']'
    end
    logs = '[' .. table.concat(parts, ',') .. ']'
  end
  return logs
end

local function logsWith(logs, text, now)
  return logsWithJson(logs, cjson.encode(text), now)
end

-- Appends [text, ms] to the job's `logs` (logsWith).
local function appendLog(key, text, now)
  redis.call('HSET', key, 'logs', logsWith(redis.call('HGET', key, 'logs') or nil, text, now))
end

-- Appends to `out` the job `id` and every job reached from it through `field` ('children' or 'parents'),
-- each once, nearest first, and returns `out`. A job already in `seen` (number -> true) is not listed or
-- walked from again; each job appended is added to `seen`.
local function reach(out, seen, id, field)
  local n = tonumber(id)
  if seen[n] then
    return out
  end
  seen[n] = true
  local i = #out
  out[i + 1] = id
  while i < #out do
    i = i + 1
    for _, j in ipairs(idList(redis.call('HGET', K.job(out[i]), field))) do
      if not seen[j] then
        seen[j] = true
        out[#out + 1] = j
      end
    end
  end
  return out
end

-- All ancestors of a job (each once), nearest first.
local function ancestors(id)
  local out = reach({}, {}, id, 'parents')
  table.remove(out, 1)
  return out
end

-- The job and all its descendants (each once), parents before children.
local function subtree(id)
  return reach({}, {}, id, 'children')
end

-- Adds deltas to roll-up counters of the job's ancestors (not the job itself).
local function addToAncestors(id, field, delta)
  if delta == 0 then
    return
  end
  for _, a in ipairs(ancestors(id)) do
    if field == 'treeP' then
      redis.call('HINCRBYFLOAT', K.job(a), field, delta)
    else
      redis.call('HINCRBY', K.job(a), field, delta)
    end
  end
end

-- A job's treeN (the jobs of its subtree that count for progress) from its fields `treeN` and `noProg` as
-- read (nil or false when absent): an absent treeN is the job's own count, 1, or 0 with noProg (store/jobs.ts
-- header).
local function treeNOf(treeN, noProg)
  return tonumber(treeN) or (noProg and 0 or 1)
end

-- Adds n to the job's treeN: an absent one is first made what it implies (treeNOf), as a HINCRBY would take
-- it as 0. Nothing for n = 0 (a HINCRBY by -0 is refused: Lua writes it "-0").
local function addTreeN(key, n)
  if n == 0 then
    return
  end
  local v = redis.call('HMGET', key, 'treeN', 'noProg')
  if v[1] then
    redis.call('HINCRBY', key, 'treeN', n)
  else
    redis.call('HSET', key, 'treeN', int(treeNOf(nil, v[2]) + n))
  end
end

-- Sets the job's own progress and rolls the change up to treeP of the job and its ancestors.
local function setProgress(id, progress)
  local key = K.job(id)
  local old = numField(key, 'progress', 0)
  if progress == 0 then
    redis.call('HDEL', key, 'progress')
  else
    redis.call('HSET', key, 'progress', progress)
  end
  if redis.call('HEXISTS', key, 'noProg') == 0 and progress ~= old then
    redis.call('HINCRBYFLOAT', key, 'treeP', progress - old)
    addToAncestors(id, 'treeP', progress - old)
  end
end

-- ---- The queue and its requirement classes (coordinator/scheduler/README.md) ----------------------------
-- The queue is the status set of runnable jobs, {p}jobs:status:runnable, scored for dispatch (-priority *
-- 2^32 + arrival) instead of by id. A job's class is a short hash of everything that decides which clients
-- could take it: cpus, its single tags, conditions, min/max hosts, resources, the platforms of a per-OS
-- command, and GPUs (count and memory; only when it asks for some, so older classes keep their hash). Jobs of one class are alike for dispatch, so only the head of each class matters:
-- {p}queue:class:{cls} orders the class's runnable jobs, and {p}queue:heads holds each class with a LOWER
-- BOUND of its head's score (entering lowers it; leaving does not touch it, so a class whose head left keeps
-- an older, smaller score, and an empty class stays listed until pruneClasses.lua drops it). The job keeps
-- its class in `cls` (written at submit, rewritten when conditions change). CLASS_CACHE is made by the call's
-- first classOf.
local CLASS_CACHE = false -- @per-call
-- Whether classes split by submittedBy too (fair share between users, or a per-user cap: shares.ts), read
-- once per call.
local BY_USER = nil -- @per-call

-- What a class holds besides the client-side needs, so that a share, a user or a maxRunning tree held back
-- by a cap holds back its own class only (coordinator/scheduler/README.md "Shares and caps"): the job's
-- share when not `default`, the capping job (`capBy`), and submittedBy while classes split by user. Empty
-- for a job of the default share without caps, whose class is then exactly what it was before shares.
local function classScope(share, capBy, submittedBy)
  if BY_USER == nil then
    local v = redis.call('HMGET', K.sharesSettings, 'byUser', 'userCap')
    BY_USER = v[1] == '1' or (tonumber(v[2]) or 0) > 0
  end
  local shared = share and share ~= '' and share ~= 'default'
  local capped = capBy and capBy ~= ''
  local byUser = BY_USER and submittedBy and submittedBy ~= ''
  if not (shared or capped or byUser) then
    return ''
  end
  local parts = {}
  if shared then parts[#parts + 1] = 's=' .. share end
  if capped then parts[#parts + 1] = 'c=' .. capBy end
  if byUser then parts[#parts + 1] = 'u=' .. submittedBy end
  return table.concat(parts, '\n')
end

-- The cache key of a job that gives none of classOf's fields but the scope: the key below with the first nine
-- empty.
local NINE_EMPTY = '\n\n\n\n\n\n\n\n\n'

local function classOf(cpus, tags, conditions, minHosts, maxHosts, resources, commandByOs, gpus, gpuMemory, scope)
  -- Cached by the fields as given (an absent field and '' give the same class; none but scope, the last, can
  -- hold a newline: the lists are JSON): the jobs of one addJobs call are mostly alike, and the definition
  -- below costs thousands of instructions per job (tostring of a number is glibc's float printing). A job
  -- that gives none of them (most) skips making the key's table.
  local given
  if not (cpus or tags or conditions or minHosts or maxHosts or resources or commandByOs or gpus or gpuMemory) then
    given = NINE_EMPTY .. (scope or '')
  else
    given = table.concat({ cpus or '', tags or '', conditions or '', minHosts or '', maxHosts or '',
      resources or '', commandByOs or '', gpus or '', gpuMemory or '', scope or '' }, '\n')
  end
  CLASS_CACHE = CLASS_CACHE or {}
  local cached = CLASS_CACHE[given]
  if cached then
    return cached
  end
  local singles = {}
  if tags and tags ~= '' then
    for _, t in ipairs(cjson.decode(tags)) do
      if t == 'single' or (type(t) == 'string' and string.sub(t, 1, 7) == 'single:') then
        singles[#singles + 1] = t
      end
    end
    table.sort(singles)
  end
  local platforms = '*'
  if commandByOs and commandByOs ~= '' then
    local names = {}
    for k in pairs(cjson.decode(commandByOs)) do
      names[#names + 1] = k
    end
    table.sort(names)
    platforms = table.concat(names, ',')
  end
  local def = table.concat({ tostring(tonumber(cpus) or 1), table.concat(singles, ','), conditions or '',
    tostring(tonumber(minHosts) or 1), tostring(tonumber(maxHosts) or 1), resources or '', platforms }, '\n')
  if (tonumber(gpus) or 0) > 0 then
    def = def .. '\ngpus ' .. tonumber(gpus) .. ' ' .. (tonumber(gpuMemory) or 0)
  end
  if scope and scope ~= '' then
    def = def .. '\n' .. scope
  end
  local cls = string.sub(redis.sha1hex(def), 1, 12)
  CLASS_CACHE[given] = cls
  return cls
end

-- The class of a stored job, computed from its fields and written to `cls`.
local function storeClass(key)
  local v = redis.call('HMGET', key, 'cpus', 'tags', 'conditions', 'minHosts', 'maxHosts', 'resources', 'commandByOs',
    'gpus', 'gpuMemory', 'share', 'capBy', 'submittedBy')
  local cls = classOf(v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], classScope(v[10], v[11], v[12]))
  redis.call('HSET', key, 'cls', cls)
  return cls
end


-- Enters a job in the queue and its class with `score`.
local function queueAt(id, cls, score)
  redis.call('ZADD', K.queue, score, id)
  redis.call('ZADD', K.queueClass(cls), score, id)
  redis.call('ZADD', K.queueHeads, 'LT', score, cls)
end

-- Records in {p}queue:clock that the queue's arrivals up to `seq` ({p}ids:queue) had entered by `now`, one
-- entry per second (the second's last): getNumWaitingJobs(wait_time) counts by arrival instead of reading
-- the jobs (waitingSince.lua). The scheduler thins entries past an hour to one a minute (store/queue.ts).
local function markClock(now, seq)
  redis.call('ZREMRANGEBYSCORE', K.queueClock, now - now % 1000, '+inf')
  redis.call('ZADD', K.queueClock, now, seq)
end

-- Enters a job that just became runnable at `now` (setStatus has taken it out of its old status set).
local function enqueue(id, now)
  local key = K.job(id)
  local v = redis.call('HMGET', key, 'priority', 'cls')
  local seq = redis.call('INCR', K.queueSeq)
  markClock(now, seq)
  queueAt(id, v[2] or storeClass(key), -(tonumber(v[1]) or 0) * QUEUE_SHIFT + seq)
end

-- Takes a job that stops being runnable out of its class (setStatus takes it out of the queue). `cls` when
-- the caller has read it already.
local function dequeue(id, cls)
  cls = cls or redis.call('HGET', K.job(id), 'cls')
  if cls then
    redis.call('ZREM', K.queueClass(cls), id)
  end
end

-- Recomputes a job's class after a field it depends on changed; a queued job moves with its score.
local function reclass(id)
  local key = K.job(id)
  local old = redis.call('HGET', key, 'cls')
  local cls = storeClass(key)
  if old == cls then
    return
  end
  local score = redis.call('ZSCORE', K.queue, id)
  if score then
    if old then
      redis.call('ZREM', K.queueClass(old), id)
    end
    queueAt(id, cls, score)
  end
end

-- Control messages to the agents running the job's current attempt.
local function sendControl(id, kind)
  local key = K.job(id)
  local clients = redis.call('HGET', key, 'clients')
  if not clients then
    return
  end
  local msg = '{"type":"' .. kind .. '","jobId":' .. id .. ',"attempt":' .. numField(key, 'attempt', 0) .. '}'
  for _, c in ipairs(cjson.decode(clients)) do
    redis.call('PUBLISH', K.controlChannel(c.clientId), msg)
  end
end
