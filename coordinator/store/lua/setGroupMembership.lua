-- setGroupMembership: adds a client to a client group (member 1) or removes it (member 0), and rewrites the
-- client's `groups` mirror. ARGV: prefix, now, group id, client id, member (1|0). Returns 1; NOTFOUND for an
-- unknown group or client.
-- Publishes {type:"farm"} on {p}events: dispatch looks again at once at what waited on groups or resources.
-- @include groupMirror
local gid, cid, member = ARGV[3], ARGV[4], ARGV[5] == '1'
local gkey = K.group(gid)
if redis.call('EXISTS', gkey) == 0 then
  return redis.error_reply('NOTFOUND group_id: no client group ' .. gid)
end
if redis.call('ZSCORE', K.clients, cid) == false then
  return redis.error_reply('NOTFOUND client_id: no client ' .. cid)
end
if member then
  redis.call('SADD', K.groupClientsOf(gkey), cid)
else
  redis.call('SREM', K.groupClientsOf(gkey), cid)
end
setGroupMirror(cid, gid, member)
redis.call('PUBLISH', K.eventsChannel, '{"type":"farm"}')
return 1
