-- removeClientIfIdle: removes a terminated client (the agent said goodbye) from the farm once it holds no
-- jobs: terminate() "removes the client from the list of clients". Atomic, so a job assigned in the same
-- instant keeps its client record. ARGV: prefix, now, clientId. Returns 1 when removed.
local cid = ARGV[3]
local key = K.client(cid)
if redis.call('HGET', key, 'terminated') ~= '1' then
  return 0
end
if redis.call('SCARD', K.clientJobsOf(key)) > 0 then
  return 0
end
local label = redis.call('HGET', key, 'label')
redis.call('DEL', key)
redis.call('ZREM', K.clients, cid)
redis.call('ZREM', K.clientHeartbeats, cid)
if label then
  redis.call('HDEL', K.clientsByLabel, label)
end
return 1
