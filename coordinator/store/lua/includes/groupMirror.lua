-- Client groups (coordinator/store/groups.ts): the client hash field `groups` mirrors the client's group ids as
-- a JSON list, ascending. setGroupMirror rewrites it after the client joined (member) or left group `gid`.
local function setGroupMirror(cid, gid, member)
  local ckey = K.client(cid)
  if redis.call('EXISTS', ckey) == 0 then
    return
  end
  local raw = redis.call('HGET', ckey, 'groups')
  local ids = {}
  if raw and raw ~= '' then
    for _, g in ipairs(cjson.decode(raw)) do
      if tonumber(g) ~= tonumber(gid) then
        ids[#ids + 1] = tonumber(g)
      end
    end
  end
  if member then
    ids[#ids + 1] = tonumber(gid)
  end
  table.sort(ids)
  redis.call('HSET', ckey, 'groups', #ids == 0 and '[]' or cjson.encode(ids))
end
