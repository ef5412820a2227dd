-- removeClientIfIdle: removes a terminated client (the agent said goodbye) from the farm once it holds no
-- jobs: terminate() "removes the client from the list of clients". Atomic, so a job assigned in the same
-- instant keeps its client record. ARGV: prefix, now, clientId. Returns 1 when removed.
local prefix, cid = ARGV[1], ARGV[3]
local key = prefix .. 'client:' .. cid
if redis.call('HGET', key, 'terminated') ~= '1' then
  return 0
end
if redis.call('SCARD', key .. ':jobs') > 0 then
  return 0
end
local label = redis.call('HGET', key, 'label')
redis.call('DEL', key)
redis.call('ZREM', prefix .. 'clients', cid)
redis.call('ZREM', prefix .. 'clients:heartbeat', cid)
if label then
  redis.call('HDEL', prefix .. 'clients:byLabel', label)
end
return 1
