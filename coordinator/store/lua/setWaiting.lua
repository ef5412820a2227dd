-- setWaiting: records why a runnable job waits (waitingFor) and whether no registered client could ever run
-- it (showBlockedClientsWarning). Only while the job is still runnable, so a job dispatched meanwhile keeps
-- the fields moveToAssigned cleared. ARGV: prefix, now, id, waitingFor, blocked (0|1). Returns 1 if written.
-- @include util
local id, text, blocked = ARGV[3], ARGV[4], ARGV[5]
local key = K.job(id)
if redis.call('HGET', key, 'status') ~= 'runnable' then
  return 0
end
if text == '' then
  redis.call('HDEL', key, 'waitingFor')
else
  redis.call('HSET', key, 'waitingFor', text)
end
if blocked == '1' then
  redis.call('HSET', key, 'showBlockedClientsWarning', '1')
else
  redis.call('HDEL', key, 'showBlockedClientsWarning')
end
return 1
