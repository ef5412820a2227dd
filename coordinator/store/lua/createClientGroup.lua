-- createClientGroup: a new, empty client group. ARGV: prefix, now, name. Returns the new id; CONFLICT when
-- the name is taken.
local name = ARGV[3]
if redis.call('HEXISTS', K.groupsByName, name) == 1 then
  return redis.error_reply('CONFLICT name: a client group named ' .. cjson.encode(name) .. ' already exists')
end
local gid = redis.call('INCR', K.ids('group'))
redis.call('HSET', K.group(gid), 'name', name)
redis.call('ZADD', K.groups, gid, gid)
redis.call('HSET', K.groupsByName, name, gid)
return gid
