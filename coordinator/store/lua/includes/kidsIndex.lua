-- @include util
-- The per-parent index of children, so the frame table reads a page of a 100,000-child parent without
-- reading every child (coordinator/store/job-frames.ts): {p}job:{id}:kids:{status} holds the parent's
-- children in that status (score = child id); {p}job:{id}:failures counts its failed and abandoned children
-- by normalized failure message (member = message, score = count: the failures panel), and
-- {p}job:{id}:failed:{group} holds those children (group = failureGroup(message), score = id). setStatus
-- keeps it on every status change; addJobs when it links children; deleteJobs when a child or parent goes.
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
  for _, p in ipairs(idList(parentsText)) do
    if old then
      kidsIndexRemove(p, id, old, oldFk)
    end
    kidsIndexAdd(p, id, new, newFk)
  end
  return set
end

-- A deleted parent's index goes with it (UNLINK: a 100,000-child set is freed off the main thread).
local function dropKidsIndex(id)
  for _, s in ipairs(KID_STATUSES) do
    redis.call('UNLINK', K.jobKids(id, s))
  end
  for _, fk in ipairs(redis.call('ZRANGE', K.jobFailures(id), 0, -1)) do
    redis.call('UNLINK', K.jobFailedKids(id, failureGroup(fk)))
  end
  redis.call('UNLINK', K.jobFailures(id))
end
