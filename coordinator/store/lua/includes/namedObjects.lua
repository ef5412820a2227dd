-- Client groups and resources: each a hash with a `name`, a set beside it (a group's clients, the machines
-- holding a resource), its name in a by-name hash and its id in an index ZSET. removeNamedObject deletes one
-- whole, then publishes {type:"farm"} on {p}events: dispatch looks again at once at what waited on it.
local function removeNamedObject(key, setKey, byName, index, id)
  redis.call('HDEL', byName, redis.call('HGET', key, 'name'))
  redis.call('DEL', key, setKey)
  redis.call('ZREM', index, id)
  redis.call('PUBLISH', K.eventsChannel, '{"type":"farm"}')
end
