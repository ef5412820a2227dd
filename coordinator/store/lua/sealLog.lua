-- sealLog: attempt A is over and every byte of its log is in the file store: replaces the log keys with
-- the small record log:A = "bytes z n cut sha256" in the job hash. Only the flush lock's holder may seal.
-- ARGV: prefix, now, id, attempt, lock token, sha256 (hex, of the whole log).
-- Returns 'ok', 'lost' (not our lock), 'pending' (chunks arrived meanwhile: flush them first) or 'gone'
-- (the job was deleted: its keys are dropped, deleteJobs queued its files).
local id, attempt, token, sha = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local lk = K.jobLog(id, attempt)
if redis.call('GET', K.jobLogLockOf(lk)) ~= token then
  return 'lost'
end
local m = redis.call('HMGET', lk, 'bytes', 'base', 'z', 'n', 'cut')
local key = K.job(id)
if m[1] and m[1] ~= m[2] then
  return 'pending'
end
redis.call('ZREM', K.logsOpen, id .. ':' .. attempt)
redis.call('DEL', lk, K.jobLogQueueOf(lk))
if not m[1] or redis.call('EXISTS', key) == 0 then
  return 'gone'
end
redis.call('HSET', key, 'log:' .. attempt, table.concat({ m[1], m[3], m[4], m[5], sha }, ' '))
return 'ok'
