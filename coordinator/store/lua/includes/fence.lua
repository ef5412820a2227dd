-- @include util
-- Fencing of agent events (docs/DESIGN.md principle 2). Every event of an attempt carries a seq (one sequence per
-- (job, attempt) for output chunks and job events alike, from 1, no holes). fenceCheck fences the consecutive
-- events first..last of attempt ARGV[4] (every fenced script's) against the job's attempt, seqAttempt and
-- eventSeq as read by the caller: returns 'stale' when ARGV[4] is not the job's current attempt, 'duplicate'
-- when last <= the last applied seq, 'gap' when first is past the next seq (an event is missing: nothing is
-- applied, so nothing past the hole is ever acked and the agent resends it), or nil and how many leading
-- events of the range were applied already (apply the rest, and record eventSeq = last). gapOk lets a gap
-- through (skipGap.lua). The first event of a new attempt makes it the job's seqAttempt (whose log readers
-- show).
-- The attempt is compared as text (two tonumber calls are a tenth of a small event's cost): the job's
-- `attempt` and `seqAttempt` are stored as integer text, and ARGV[4] is the caller's number as its text.
local function fenceCheck(key, first, last, current, seqAttempt, eventSeq, gapOk)
  local attemptText = ARGV[4]
  if current ~= attemptText and (current or attemptText ~= '0') then
    return 'stale', 0
  end
  local fresh = seqAttempt ~= attemptText
  local applied = fresh and 0 or (tonumber(eventSeq) or 0)
  if last <= applied then
    return 'duplicate', 0
  end
  if first > applied + 1 and not gapOk then
    return 'gap', 0
  end
  if fresh then
    redis.call('HSET', key, 'seqAttempt', attemptText)
  end
  return nil, math.max(0, applied - first + 1)
end

-- fenceCheck after reading the fields, and recording eventSeq = last when the range is to be applied.
local function fenceRange(key, first, last, gapOk)
  local v = redis.call('HMGET', key, 'attempt', 'seqAttempt', 'eventSeq')
  local refused, skip = fenceCheck(key, first, last, v[1], v[2], v[3], gapOk)
  if not refused then
    redis.call('HSET', key, 'eventSeq', int(last))
  end
  return refused, skip
end

-- The checks every event of a running attempt starts with, in one read of the job: the NOTFOUND reply for an
-- unknown job, 'stale' when the job is not live (isLive), then fenceCheck. `extra` names more fields to read in
-- the same HMGET. Returns the job's status, the reply to give instead of applying the event (nil: apply it),
-- and the values of `extra`. The caller applies the event and records eventSeq = seq, in its own HSET.
local function fenceLiveRead(key, id, seq, extra)
  local v = redis.call('HMGET', key, 'status', 'attempt', 'seqAttempt', 'eventSeq', 'pausedRunning', unpack(extra or {}))
  local status = v[1]
  if not status then
    return nil, redis.error_reply('NOTFOUND job ' .. id .. ' does not exist')
  end
  local rest = { unpack(v, 6) }
  if not (RUNNING[status] or (status == 'paused' and v[5])) then
    return status, 'stale', rest
  end
  return status, (fenceCheck(key, seq, seq, v[2], v[3], v[4])), rest
end

-- fenceLiveRead with the whole job (readHash) instead of named fields: for a transition that reads most of it.
local function fenceLiveJob(key, id, seq)
  local job = readHash(key)
  local status = job.status
  if not status then
    return nil, redis.error_reply('NOTFOUND job ' .. id .. ' does not exist'), job
  end
  if not (RUNNING[status] or (status == 'paused' and job.pausedRunning)) then
    return status, 'stale', job
  end
  return status, (fenceCheck(key, seq, seq, job.attempt, job.seqAttempt, job.eventSeq)), job
end

-- fenceLiveRead, recording eventSeq itself: for events whose own writes are not on the hot path.
local function fenceLiveEvent(key, id, seq)
  local status, refused = fenceLiveRead(key, id, seq)
  if not refused then
    redis.call('HSET', key, 'eventSeq', int(seq))
  end
  return status, refused
end

-- fenceLiveEvent of the event a script's ARGV names (prefix, now, id, attempt, seq): returns now, id, the job's
-- key, its status and the reply to give instead of applying the event (nil: apply it).
local function fenceLiveEventOfArgs()
  local now, id, seq = nowArg(), ARGV[3], tonumber(ARGV[5])
  local key = K.job(id)
  local status, refused = fenceLiveEvent(key, id, seq)
  return now, id, key, status, refused
end
