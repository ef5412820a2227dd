-- appendOutput: appends the output chunks seq, seq+1, ... of attempt A (one call for a run of consecutive
-- chunks, the same as one call per chunk). Fenced (fence.lua): chunks already applied are skipped; a job that
-- went back to waiting (retried, ejected) refuses its old attempt's chunks as stale, while a finished or
-- cancelled job still takes the trailing chunks of its last attempt. Past `cap` bytes the output keeps its
-- head (cap/2 bytes in the :output key, outHead) and its newest tail (chunks in the :output:tail list, outTail
-- bytes); outBytes counts every byte received.
-- ARGV: prefix, now, id, attempt, seq, cap, data... (one or more chunks). Returns 'ok' (some chunk applied),
-- 'stale' or 'duplicate'.
-- @include fence
local prefix, id, attempt, first = ARGV[1], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local cap = tonumber(ARGV[6])
local FIRST_DATA = 7
if #ARGV < FIRST_DATA then
  return redis.error_reply('BADARG appendOutput needs at least one chunk')
end
local key = jobKey(prefix, id)
local status = redis.call('HGET', key, 'status')
if not status then
  return redis.error_reply('NOTFOUND job ' .. id .. ' does not exist')
end
if status == 'queued' or status == 'runnable' then
  return 'stale'
end
local fenced, skip = fenceRange(key, attempt, first, first + #ARGV - FIRST_DATA)
if fenced then
  return fenced
end
local outKey, tailKey = key .. ':output', key .. ':output:tail'

local function append(data)
  redis.call('HINCRBY', key, 'outBytes', #data)
  local head = tonumber(redis.call('HGET', key, 'outHead'))
  if not head then
    local size = redis.call('STRLEN', outKey)
    if size + #data <= cap then
      redis.call('APPEND', outKey, data)
      return
    end
    -- First overflow: the key keeps the head; what followed it starts the tail (a one-time copy).
    head = math.floor(cap / 2)
    redis.call('HSET', key, 'outHead', head, 'outTail', 0)
    if size > head then
      local rest = redis.call('GETRANGE', outKey, head, -1)
      redis.call('SET', outKey, redis.call('GETRANGE', outKey, 0, head - 1))
      redis.call('RPUSH', tailKey, rest)
      redis.call('HINCRBY', key, 'outTail', #rest)
    end
  end
  -- The tail is a list of chunks: appending costs the chunk, and the oldest chunks are dropped while the
  -- rest still holds at least cap - head bytes.
  redis.call('RPUSH', tailKey, data)
  local tail = redis.call('HINCRBY', key, 'outTail', #data)
  local keep = cap - head
  while true do
    local oldest = redis.call('LINDEX', tailKey, 0)
    if not oldest or tail - #oldest < keep then
      break
    end
    redis.call('LPOP', tailKey)
    tail = redis.call('HINCRBY', key, 'outTail', -#oldest)
  end
end

for i = FIRST_DATA + skip, #ARGV do
  append(ARGV[i])
end
return 'ok'
