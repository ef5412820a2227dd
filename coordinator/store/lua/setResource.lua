-- setResource: changes a resource's amount, per-machine flag and/or name; an empty value leaves it as is.
-- A resource in use keeps its per-machine flag. ARGV: prefix, now, id, amount|'', perMachine (0|1)|'',
-- name|''. Returns 1; NOTFOUND for an unknown id, CONFLICT for a taken name or a flag change while in use.
-- Publishes {type:"farm"} on {p}events: dispatch looks again at once at what waited on groups or resources.
-- @include resourceUsage
local rid, amount, perMachine, name = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local key = K.resource(rid)
if redis.call('EXISTS', key) == 0 then
  return redis.error_reply('NOTFOUND id_or_name: no resource ' .. rid)
end
local old = redis.call('HGET', key, 'name')
local rename = name ~= '' and name ~= old
if rename and redis.call('HEXISTS', K.resourcesByName, name) == 1 then
  return redis.error_reply('CONFLICT name: a resource named ' .. cjson.encode(name) .. ' already exists')
end
if perMachine ~= '' and perMachine ~= redis.call('HGET', key, 'perMachine') and resourceUsed(rid) > 0 then
  return redis.error_reply(
    'CONFLICT per_machine: resource ' .. rid .. ' is in use; change it when no job holds it'
  )
end
if rename then
  redis.call('HDEL', K.resourcesByName, old)
  redis.call('HSET', K.resourcesByName, name, rid)
  redis.call('HSET', key, 'name', name)
end
if amount ~= '' then
  redis.call('HSET', key, 'amount', amount)
end
if perMachine ~= '' then
  redis.call('HSET', key, 'perMachine', perMachine)
end
redis.call('PUBLISH', K.eventsChannel, '{"type":"farm"}')
return 1
