-- @include util
-- Fencing of agent events (docs/DESIGN.md principle 2). Every event of an attempt carries a seq (one sequence per
-- (job, attempt) for output chunks and job events alike, from 1, no holes). fenceRange fences the consecutive
-- events first..last at once: returns 'stale' when `attempt` is not the job's current attempt, 'duplicate' when
-- last <= the last applied seq, 'gap' when first is past the next seq (an event is missing: nothing is
-- applied, so nothing past the hole is ever acked and the agent resends it), or nil and how many leading
-- events of the range were applied already, after recording `last` (apply the rest). gapOk lets a gap
-- through (skipGap.lua). The first event of a new attempt resets the output of the previous one.
local function fenceRange(key, attempt, first, last, gapOk)
  local v = redis.call('HMGET', key, 'attempt', 'seqAttempt', 'eventSeq')
  if (tonumber(v[1]) or 0) ~= attempt then
    return 'stale', 0
  end
  local fresh = tonumber(v[2]) ~= attempt
  local applied = fresh and 0 or (tonumber(v[3]) or 0)
  if last <= applied then
    return 'duplicate', 0
  end
  if first > applied + 1 and not gapOk then
    return 'gap', 0
  end
  if fresh then
    redis.call('DEL', key .. ':output', key .. ':output:tail')
    redis.call('HDEL', key, 'outHead', 'outTail', 'outBytes')
    redis.call('HSET', key, 'seqAttempt', attempt)
  end
  redis.call('HSET', key, 'eventSeq', last)
  return nil, math.max(0, applied - first + 1)
end

-- fenceRange for one event: 'stale', 'duplicate', 'gap', or nil after recording seq (apply it).
local function fenceEvent(key, attempt, seq)
  return (fenceRange(key, attempt, seq, seq))
end

-- The checks every event of a running attempt starts with: the NOTFOUND reply for an unknown job, 'stale'
-- when the job is not live (isLive), then fenceEvent. Returns the job's status and the reply to give instead
-- of applying the event (nil: apply it).
local function fenceLiveEvent(key, id, attempt, seq)
  local status = redis.call('HGET', key, 'status')
  if not status then
    return nil, redis.error_reply('NOTFOUND job ' .. id .. ' does not exist')
  end
  if not isLive(key, status) then
    return status, 'stale'
  end
  return status, fenceEvent(key, attempt, seq)
end
