-- addResource: a new resource, unused. ARGV: prefix, now, name, amount, perMachine (0|1). Returns the new id;
-- CONFLICT when the name is taken.
-- Publishes {type:"farm"} on {p}events: dispatch looks again at once at what waited on groups or resources.
local name, amount, perMachine = ARGV[3], ARGV[4], ARGV[5]
if redis.call('HEXISTS', K.resourcesByName, name) == 1 then
  return redis.error_reply('CONFLICT name: a resource named ' .. cjson.encode(name) .. ' already exists')
end
local rid = redis.call('INCR', K.ids('resource'))
redis.call('HSET', K.resource(rid), 'name', name, 'amount', amount, 'perMachine', perMachine, 'used', 0)
redis.call('ZADD', K.resources, rid, rid)
redis.call('HSET', K.resourcesByName, name, rid)
redis.call('PUBLISH', K.eventsChannel, '{"type":"farm"}')
return rid
