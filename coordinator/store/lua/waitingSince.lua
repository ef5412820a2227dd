-- waitingSince: how many queued jobs have waited since `cutoff` (ms) or longer, with a priority in a range:
-- getNumWaitingJobs(wait_time). Arrivals ({p}ids:queue, the low part of a queue score) grow with time, and
-- {p}queue:clock (util.lua markClock) says up to which arrival the queue had been entered by when. So the
-- jobs of one priority that waited long enough are a score range of the queue: one ZCOUNT per priority
-- present, never a read of the jobs. At most `steps` priorities per call; the caller goes on from `next`.
-- ARGV: prefix, now, cutoff, low (the first score to look at, or -inf), high (the last, or +inf), steps.
-- Returns {count, next}: next is the score to go on from, or '' when done.
-- @read-only
-- @include util
local cutoff, low, high, steps = tonumber(ARGV[3]), ARGV[4], ARGV[5], tonumber(ARGV[6])
local queue = K.queue
local mark = redis.call('ZREVRANGEBYSCORE', K.queueClock, cutoff, '-inf', 'LIMIT', 0, 1)
if #mark == 0 then
  return { 0, '' }
end
local arrived = tonumber(mark[1])
local count = 0
for _ = 1, steps do
  local first = redis.call('ZRANGEBYSCORE', queue, low, high, 'WITHSCORES', 'LIMIT', 0, 1)
  if #first == 0 then
    return { count, '' }
  end
  -- The priority band of the first job: scores -priority * 2^32 + (1 .. 2^32 - 1).
  local base = -math.ceil(-tonumber(first[2]) / QUEUE_SHIFT) * QUEUE_SHIFT
  count = count + redis.call('ZCOUNT', queue, base + 1, base + math.min(arrived, QUEUE_SHIFT - 1))
  low = string.format('%d', base + QUEUE_SHIFT + 1)
end
return { count, low }
