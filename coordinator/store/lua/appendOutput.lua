-- appendOutput: appends output chunk `seq` of attempt A. Fenced (fence.lua); a job that went back to waiting
-- (retried, ejected) refuses its old attempt's chunks as stale, while a finished or cancelled job still takes
-- the trailing chunks of its last attempt. Past `cap` bytes the output keeps its head (cap/2 bytes; the
-- field outHead says where the head ends) and its newest tail; outBytes counts every byte received.
-- ARGV: prefix, now, id, attempt, seq, data, cap. Returns 'ok', 'stale' or 'duplicate'.
-- @include fence
local prefix, id, attempt, seq = ARGV[1], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local data, cap = ARGV[6], tonumber(ARGV[7])
local key = jobKey(prefix, id)
local status = redis.call('HGET', key, 'status')
if not status then
  return redis.error_reply('NOTFOUND job ' .. id .. ' does not exist')
end
if status == 'queued' or status == 'runnable' then
  return 'stale'
end
local fenced = fenceEvent(key, attempt, seq)
if fenced then
  return fenced
end
local outKey = key .. ':output'
redis.call('HINCRBY', key, 'outBytes', #data)
local size = redis.call('STRLEN', outKey)
if size + #data <= cap then
  redis.call('APPEND', outKey, data)
  return 'ok'
end
local head = tonumber(redis.call('HGET', key, 'outHead'))
if not head then
  head = math.floor(cap / 2)
  redis.call('HSET', key, 'outHead', head)
end
local tail = redis.call('GETRANGE', outKey, head, -1) .. data
local keep = cap - head
if #tail > keep then
  tail = string.sub(tail, #tail - keep + 1)
end
redis.call('SET', outKey, redis.call('GETRANGE', outKey, 0, head - 1) .. tail)
return 'ok'
