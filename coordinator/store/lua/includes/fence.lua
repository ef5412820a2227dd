-- @include util
-- Fencing of agent events (DESIGN.md principle 2). Every event of an attempt carries a seq (one sequence per
-- (job, attempt) for output chunks and job events alike). fenceRange fences the consecutive events
-- first..last at once: returns 'stale' when `attempt` is not the job's current attempt, 'duplicate' when
-- last <= the last applied seq, or nil and how many leading events of the range were applied already, after
-- recording `last` (apply the rest). The first event of a new attempt resets the output of the previous one.
local function fenceRange(key, attempt, first, last)
  local v = redis.call('HMGET', key, 'attempt', 'seqAttempt', 'eventSeq')
  if (tonumber(v[1]) or 0) ~= attempt then
    return 'stale', 0
  end
  local applied = tonumber(v[3]) or 0
  if tonumber(v[2]) ~= attempt then
    redis.call('DEL', key .. ':output', key .. ':output:tail')
    redis.call('HDEL', key, 'outHead', 'outTail', 'outBytes')
    redis.call('HSET', key, 'seqAttempt', attempt)
    applied = 0
  end
  if last <= applied then
    return 'duplicate', 0
  end
  redis.call('HSET', key, 'eventSeq', last)
  return nil, math.max(0, applied - first + 1)
end

-- fenceRange for one event: 'stale', 'duplicate', or nil after recording seq (apply it).
local function fenceEvent(key, attempt, seq)
  return (fenceRange(key, attempt, seq, seq))
end

-- True while attempt `attempt` may still report: the job is running, or paused on its client.
local function isLive(key, status)
  return RUNNING[status] or (status == 'paused' and redis.call('HEXISTS', key, 'pausedRunning') == 1)
end
