-- appendOutput: appends the output chunks seq, seq+1, ... of attempt A (one call for a run of consecutive
-- chunks, the same as one call per chunk) to the attempt's log (includes/logKeys.lua): the chunks join the
-- :q list until coordinator/logs moves them to the file store. Fenced (fence.lua): chunks already applied are
-- skipped; a job that went back to waiting (retried, ejected) refuses its old attempt's chunks as stale, while
-- a finished or cancelled job still takes the trailing chunks of its last attempt (reopening a sealed log).
-- Bounds: while more than `window` bytes would wait for the file store, the call changes
-- nothing and answers 'full' (the caller flushes and retries; the agent keeps the chunks until acked). Past
-- `cap` bytes per attempt, or once the file store holds `quota` compressed bytes (0 = none), the rest of the
-- attempt's output is dropped and counted, behind one marker line.
-- ARGV: prefix, now, id, attempt, seq, cap, quota, window, data... (one or more chunks).
-- Returns {result, bytes waiting for the file store, cut, before, skip}: result is 'ok' (some chunk applied),
-- 'stale', 'duplicate' or 'full'; cut is 1 when this call started a cut, 2 when the log was cut already,
-- else 0; with cut 0, chunks skip+1.. were pushed to the :q list as they are, from log offset `before`.
-- @include fence
local now, id = nowArg(), ARGV[3]
local attempt, first = tonumber(ARGV[4]), tonumber(ARGV[5])
local cap, quota, window = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local FIRST_DATA = 9
local REOPEN_CHECK_MS = 30000
if #ARGV < FIRST_DATA then
  return redis.error_reply('BADARG appendOutput needs at least one chunk')
end
local key = K.job(id)
local status = redis.call('HGET', key, 'status')
if not status then
  return redis.error_reply('NOTFOUND job ' .. id .. ' does not exist')
end
if status == 'queued' or status == 'runnable' then
  return { 'stale', 0, 0, 0, 0 }
end
local lk = K.jobLog(id, attempt)
local m = redis.call('HMGET', lk, 'bytes', 'base', 'cut')
local waiting = (tonumber(m[1]) or 0) - (tonumber(m[2]) or 0)
if waiting > 0 then
  local incoming = 0
  for i = FIRST_DATA, #ARGV do
    incoming = incoming + #ARGV[i]
  end
  if waiting + incoming > window then
    return { 'full', waiting, 0, 0, 0 }
  end
end
local fenced, skip = fenceRange(key, first, first + #ARGV - FIRST_DATA)
if fenced then
  return { fenced, waiting, 0, 0, 0 }
end

local bytes, base, cut = tonumber(m[1]), tonumber(m[2]), tonumber(m[3])
if not bytes then
  -- The attempt's first output, or trailing output after its log was sealed: (re)open it.
  bytes, base, cut = 0, 0, -1
  local z, n = 0, 0
  local record = redis.call('HGET', key, 'log:' .. attempt)
  if record then
    local b, zz, nn, c = string.match(record, '^(%d+) (%d+) (%d+) (%-?%d+)')
    bytes, base, z, n, cut = tonumber(b), tonumber(b), zz, nn, tonumber(c)
    redis.call('HDEL', key, 'log:' .. attempt)
  end
  redis.call('HSET', lk, 'bytes', bytes, 'base', base, 'z', z, 'n', n, 'cut', cut)
  redis.call('ZADD', K.logsOpen, 'NX', now + REOPEN_CHECK_MS, id .. ':' .. attempt)
end

local over = quota > 0 and (tonumber(redis.call('GET', K.logsBytes)) or 0) >= quota
local before, state = bytes, 0
if cut >= 0 then
  state = 2
end
local queue = K.jobLogQueueOf(lk)
for i = FIRST_DATA + skip, #ARGV do
  local data = ARGV[i]
  if cut >= 0 then
    cut = cut + #data
  elseif over or (cap > 0 and bytes + #data > cap) then
    local keep = over and 0 or math.max(0, cap - bytes)
    local why = over and ('the job logs reached openhq.maxLogBytes = ' .. quota .. ' compressed bytes')
      or ('the attempt printed more than openhq.maxOutputBytes = ' .. cap .. ' bytes')
    local marker = '\n[openhq: output cut here: ' .. why .. '; the rest was dropped]\n'
    if keep > 0 then
      redis.call('RPUSH', queue, string.sub(data, 1, keep))
    end
    redis.call('RPUSH', queue, marker)
    bytes = bytes + keep + #marker
    cut = #data - keep
    state = 1
  else
    redis.call('RPUSH', queue, data)
    bytes = bytes + #data
  end
end
redis.call('HSET', lk, 'bytes', bytes, 'cut', cut)
return { 'ok', bytes - base, state, before, skip }
