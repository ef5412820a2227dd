-- Resources (coordinator/store/resources.ts): how much of resource `rid` jobs hold now (per-machine
-- resources: the number of machines holding it).
local function resourceUsed(rid)
  local key = K.resource(rid)
  if redis.call('HGET', key, 'perMachine') == '1' then
    return redis.call('HLEN', K.resourceMachinesOf(key))
  end
  return tonumber(redis.call('HGET', key, 'used') or '0') or 0
end
