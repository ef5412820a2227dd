-- removeResource: removes a resource no job holds. ARGV: prefix, now, id. Returns 1; NOTFOUND for an
-- unknown id, CONFLICT while it is in use.
-- Publishes {type:"farm"} on {p}events: dispatch looks again at once at what waited on groups or resources.
-- @include resourceUsage
local p, rid = ARGV[1], ARGV[3]
local key = p .. 'resource:' .. rid
if redis.call('EXISTS', key) == 0 then
  return redis.error_reply('NOTFOUND id_or_name: no resource ' .. rid)
end
if resourceUsed(p, rid) > 0 then
  return redis.error_reply('CONFLICT id_or_name: resource ' .. rid .. ' is in use; remove it when no job holds it')
end
redis.call('HDEL', p .. 'resources:byName', redis.call('HGET', key, 'name'))
redis.call('DEL', key, key .. ':machines')
redis.call('ZREM', p .. 'resources', rid)
redis.call('PUBLISH', p .. 'events', '{"type":"farm"}')
return 1
