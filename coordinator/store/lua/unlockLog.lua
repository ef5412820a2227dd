-- unlockLog: releases an attempt's log flush lock (coordinator/logs/writer.ts) if it is still the caller's.
-- ARGV: prefix, now, id, attempt, token. Returns 'ok'.
local lock = K.jobLogLock(ARGV[3], ARGV[4])
if redis.call('GET', lock) == ARGV[5] then
  redis.call('DEL', lock)
end
return 'ok'
