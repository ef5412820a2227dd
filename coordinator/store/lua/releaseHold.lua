-- releaseHold: frees a client held for a multi-host job that no longer waits (it was cancelled, paused or
-- deleted while it held clients). ARGV: prefix, now, id (the job), clientId. Returns 1 if released.
-- @include util
local id, cid = ARGV[3], ARGV[4]
local ckey = K.client(cid)
if redis.call('HGET', ckey, 'heldFor') ~= id then
  return 0
end
if redis.call('HGET', K.job(id), 'status') == 'runnable' then
  return 0
end
redis.call('HSET', ckey, 'heldFor', '')
return 1
