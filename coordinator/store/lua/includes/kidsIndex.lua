-- @include util
-- The per-parent index of children, so the frame table reads a page of a 100,000-child parent without
-- reading every child (coordinator/store/job-frames.ts): {p}job:{id}:kids:{status} holds the parent's
-- children in that status (score = child id); {p}job:{id}:failures counts its failed and abandoned children
-- by normalized failure message (member = message, score = count: the failures panel), and
-- {p}job:{id}:failed:{group} holds those children (group = failureGroup(message), score = id). setStatus
-- keeps it on every status change; addJobs when it links children; deleteJobs when a child or parent goes.
-- Beside it, the duration index (kids:took, kids:started; below).
-- A failed child keeps the message it was counted under as its `failKey` field, so it leaves the same group.
local KID_STATUSES = { 'queued', 'runnable', 'running', 'pausing', 'paused', 'resuming', 'succeeded', 'failed',
  'cancelled', 'abandoned' }
local FAILED = { failed = true, abandoned = true }
local FAILURE_KEY_BYTES = 300

-- normalizeFailure of shared/failure-groups.ts, the same rule: words holding a slash become <path>, numbers
-- N, whitespace one space, cut to FAILURE_KEY_BYTES on a character boundary; "(no message)" when empty.
local function failureKey(message)
  local words = {}
  for word in string.gmatch(message or '', '%S+') do
    if string.find(word, '[/\\]') then
      words[#words + 1] = '<path>'
    else
      words[#words + 1] = (string.gsub((string.gsub(word, '%d+%.%d+', 'N')), '%d+', 'N'))
    end
  end
  local key = table.concat(words, ' ')
  if #key > FAILURE_KEY_BYTES then
    local cut = FAILURE_KEY_BYTES
    while cut > 0 and string.byte(key, cut + 1) >= 128 and string.byte(key, cut + 1) < 192 do
      cut = cut - 1
    end
    key = string.sub(key, 1, cut)
  end
  if key == '' then
    return '(no message)'
  end
  return key
end

-- The {group} part of a failure message's key (the message itself may hold any byte).
local function failureGroup(key)
  return string.sub(redis.sha1hex(key), 1, 16)
end

-- Child `id` enters parent p's index in `status` (fk: its failure message when the status is a failure).
local function kidsIndexAdd(p, id, status, fk)
  redis.call('ZADD', K.jobKids(p, status), id, id)
  if FAILED[status] then
    redis.call('ZINCRBY', K.jobFailures(p), 1, fk)
    redis.call('ZADD', K.jobFailedKids(p, failureGroup(fk)), id, id)
  end
end

local function kidsIndexRemove(p, id, status, fk)
  redis.call('ZREM', K.jobKids(p, status), id)
  if FAILED[status] then
    if tonumber(redis.call('ZINCRBY', K.jobFailures(p), -1, fk)) <= 0 then
      redis.call('ZREM', K.jobFailures(p), fk)
    end
    redis.call('ZREM', K.jobFailedKids(p, failureGroup(fk)), id)
  end
end

-- A job's move from `old` (nil for a new job) to `new` in the index of each parent (parentsText: its
-- `parents` field, nil for a root). Returns the fields to write on the job (its failKey), or nil.
local function kidsIndexMove(id, key, parentsText, old, new)
  local wasFailed, isFailed = old and FAILED[old] or false, FAILED[new] or false
  local oldFk, newFk, set = nil, nil, nil
  if wasFailed then
    oldFk = redis.call('HGET', key, 'failKey') or '(no message)'
  end
  if isFailed then
    newFk = oldFk or failureKey(redis.call('HGET', key, 'lastError'))
    set = { 'failKey', newFk }
  elseif wasFailed then
    redis.call('HDEL', key, 'failKey')
  end
  if parentsText then
    for _, p in ipairs(idList(parentsText)) do
      if old then
        kidsIndexRemove(p, id, old, oldFk)
      end
      kidsIndexAdd(p, id, new, newFk)
    end
  end
  return set
end

-- The duration index, so the frame table sorted by duration reads a page, not every child
-- (store/job-frames.ts durationPage): a child that has run (has a startTime) is, in each parent's index,
-- in kids:took scored by its run seconds once finished (they no longer change then), or in kids:started
-- while not finished (its seconds grow with the view's time: they are read when viewed, and few children
-- are there: those running and those rescheduled after a run). A child that never ran is in neither. The
-- seconds are store/run-time.ts's runSeconds, the rule readFrameOrder.lua applies too.
local function tookSeconds(v)
  local start, stop, pausedAt = tonumber(v[1]), tonumber(v[2]), tonumber(v[4])
  local stopped = pausedAt and math.max(0, stop - pausedAt) or 0
  return math.max(0, stop - start - (tonumber(v[3]) or 0) - stopped) / 1000
end

-- Child `id` (hash `key`) in the duration index of each parent in `parents` (a list of ids), as it is now.
-- (A child that is a parent gets its startTime from its first descendant's start: setStatus places it then.)
local function kidsTimingPlace(id, key, parents)
  local v = redis.call('HMGET', key, 'startTime', 'endTime', 'pausedMs', 'pausedAt', 'status')
  if not v[1] then
    return
  end
  local finished = FINISHED[v[5]] or false
  -- A finished job without an endTime (written before endTime was kept) has no duration: in neither set.
  local took = finished and v[2] and string.format('%.17g', tookSeconds(v))
  for _, p in ipairs(parents) do
    if took then
      redis.call('ZREM', K.jobKidsStarted(p), id)
      redis.call('ZADD', K.jobKidsTook(p), took, id)
    else
      redis.call('ZREM', K.jobKidsTook(p), id)
      if not finished then
        redis.call('ZADD', K.jobKidsStarted(p), id, id)
      end
    end
  end
end

local function kidsTimingRemove(p, id)
  redis.call('ZREM', K.jobKidsTook(p), id)
  redis.call('ZREM', K.jobKidsStarted(p), id)
end

-- A deleted parent's index goes with it (UNLINK: a 100,000-child set is freed off the main thread).
local function dropKidsIndex(id)
  redis.call('UNLINK', K.jobKidsTook(id), K.jobKidsStarted(id))
  for _, s in ipairs(KID_STATUSES) do
    redis.call('UNLINK', K.jobKids(id, s))
  end
  for _, fk in ipairs(redis.call('ZRANGE', K.jobFailures(id), 0, -1)) do
    redis.call('UNLINK', K.jobFailedKids(id, failureGroup(fk)))
  end
  redis.call('UNLINK', K.jobFailures(id))
end
