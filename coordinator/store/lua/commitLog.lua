-- commitLog: records that the first `count` chunks of attempt A's :q list (rawLen bytes from offset `base`)
-- are now durable in the file store as `members` more gzip members of zLen bytes and their index records
-- (coordinator/logs/writer.ts wrote and fsynced them first), and drops them from Redis. Only the holder of
-- the attempt's flush lock may commit, and only at the offset it read: anything else changes nothing.
-- ARGV: prefix, now, id, attempt, lock token, base, count, rawLen, zLen, members.
-- Returns 'ok', 'lost' (the lock is not ours any more), 'gone' (no such log: deleted or sealed) or 'moved'.
local id, attempt, token = ARGV[3], ARGV[4], ARGV[5]
local base, count, rawLen, zLen = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local members = tonumber(ARGV[10])
local lk = K.jobLog(id, attempt)
if redis.call('GET', K.jobLogLockOf(lk)) ~= token then
  return 'lost'
end
local m = redis.call('HMGET', lk, 'base', 'bytes')
if not m[1] then
  return 'gone'
end
if tonumber(m[1]) ~= base or tonumber(m[2]) < base + rawLen then
  return 'moved'
end
redis.call('LTRIM', K.jobLogQueueOf(lk), count, -1)
redis.call('HINCRBY', lk, 'base', rawLen)
redis.call('HINCRBY', lk, 'z', zLen)
redis.call('HINCRBY', lk, 'n', members)
redis.call('INCRBY', K.logsBytes, zLen)
return 'ok'
