-- removeResource: removes a resource no job holds. ARGV: prefix, now, id. Returns 1; NOTFOUND for an
-- unknown id, CONFLICT while it is in use.
-- Publishes {type:"farm"} on {p}events: dispatch looks again at once at what waited on groups or resources.
-- @include resourceUsage
-- @include namedObjects
local rid = ARGV[3]
local key = K.resource(rid)
if redis.call('EXISTS', key) == 0 then
  return redis.error_reply('NOTFOUND id_or_name: no resource ' .. rid)
end
if resourceUsed(rid) > 0 then
  return redis.error_reply('CONFLICT id_or_name: resource ' .. rid .. ' is in use; remove it when no job holds it')
end
removeNamedObject(key, K.resourceMachinesOf(key), K.resourcesByName, K.resources, rid)
return 1
