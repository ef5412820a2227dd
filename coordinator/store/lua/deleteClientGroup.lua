-- deleteClientGroup: removes a client group and drops it from its members' `groups` mirror.
-- ARGV: prefix, now, group id. Returns 1; NOTFOUND for an unknown group.
-- Publishes {type:"farm"} on {p}events: dispatch looks again at once at what waited on groups or resources.
-- @include groupMirror
-- @include namedObjects
local gid = ARGV[3]
local gkey = K.group(gid)
if redis.call('EXISTS', gkey) == 0 then
  return redis.error_reply('NOTFOUND group_id: no client group ' .. gid)
end
for _, cid in ipairs(redis.call('SMEMBERS', K.groupClientsOf(gkey))) do
  setGroupMirror(cid, gid, false)
end
removeNamedObject(gkey, K.groupClientsOf(gkey), K.groupsByName, K.groups, gid)
return 1
