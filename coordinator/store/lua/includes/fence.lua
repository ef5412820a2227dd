-- @include util
-- Fencing of agent events (DESIGN.md principle 2). Every event of an attempt carries a seq (one sequence per
-- (job, attempt) for output chunks and job events alike). Returns 'stale' when `attempt` is not the job's
-- current attempt, 'duplicate' when seq <= the last applied seq, or nil after recording seq (apply it).
-- The first event of a new attempt resets the output of the previous attempt.
local function fenceEvent(key, attempt, seq)
  local v = redis.call('HMGET', key, 'attempt', 'seqAttempt', 'eventSeq')
  if (tonumber(v[1]) or 0) ~= attempt then
    return 'stale'
  end
  local last = tonumber(v[3]) or 0
  if tonumber(v[2]) ~= attempt then
    redis.call('DEL', key .. ':output', key .. ':output:tail')
    redis.call('HDEL', key, 'outHead', 'outTail', 'outBytes')
    redis.call('HSET', key, 'seqAttempt', attempt)
    last = 0
  end
  if seq <= last then
    return 'duplicate'
  end
  redis.call('HSET', key, 'eventSeq', seq)
  return nil
end

-- True while attempt `attempt` may still report: the job is running, or paused on its client.
local function isLive(key, status)
  return RUNNING[status] or (status == 'paused' and redis.call('HEXISTS', key, 'pausedRunning') == 1)
end
