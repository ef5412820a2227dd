-- @include util
-- Shares and running limits (coordinator/scheduler/README.md "Shares and caps"): the CPU slots running jobs
-- hold per share and per user, kept by moveToAssigned (holdSlots) and releaseClients (releaseSlots) and never
-- counted by a scan, and the caps moveToAssigned checks against them (capRefusal). A job's slots are its
-- cpus on each of its clients; it remembers them in `slotsHeld` so its release gives back exactly that.

-- A share's burst maximum in slots, or nil for none: `burst` slots, `burstPct` of the farm's CPU slots
-- ({p}shares:settings farmSlots, written by the scheduler's maintenance), the smaller when both are set.
local function burstLimit(share)
  local json = redis.call('HGET', K.shares, share)
  -- A definition without burst or burstPct (most: a weight and a guarantee) is not decoded, a tenth of an
  -- assignment's cost with shares configured.
  if not json or not string.find(json, '"burst', 1, true) then
    return nil
  end
  local def = cjson.decode(json)
  local limit = nil
  if (tonumber(def.burst) or 0) > 0 then
    limit = tonumber(def.burst)
  end
  if (tonumber(def.burstPct) or 0) > 0 then
    local farm = tonumber(redis.call('HGET', K.sharesSettings, 'farmSlots')) or 0
    if farm > 0 then
      local pct = math.floor(def.burstPct * farm / 100)
      if not limit or pct < limit then
        limit = pct
      end
    end
  end
  return limit
end

-- Why a run of `slots` slots may not start now, or nil: the maxRunning of the job's capping ancestors
-- (capBy, then each cap's capUp), its share's burst maximum, its user's cap, as {kind, subject, running,
-- limit} (kind 'maxRunning' with the capping job's id, 'burst' with the share, 'user' with the user);
-- scheduler/waiting-reasons.ts capText words it.
local function capRefusal(share, user, capBy, slots)
  local cap = capBy
  local depth = 0
  while cap and depth < 100 do
    local v = redis.call('HMGET', K.job(cap), 'maxRunning', 'treeRun', 'status', 'capUp')
    local max = tonumber(v[1])
    if max then
      local running = (tonumber(v[2]) or 0) + (RUNNING[v[3]] and 1 or 0)
      if running >= max then
        return {'maxRunning', cap, running, max}
      end
    end
    cap = v[4]
    depth = depth + 1
  end
  local limit = burstLimit(share)
  if limit then
    local running = tonumber(redis.call('HGET', K.sharesRunning, share)) or 0
    if running + slots > limit then
      return {'burst', share, running, limit}
    end
  end
  if user then
    local userCap = tonumber(redis.call('HGET', K.sharesSettings, 'userCap')) or 0
    if userCap > 0 then
      local running = tonumber(redis.call('HGET', K.usersRunning, user)) or 0
      if running + slots > userCap then
        return {'user', user, running, userCap}
      end
    end
  end
  return nil
end

-- A run starts holding `slots` slots of its share and user.
local function holdSlots(share, user, slots)
  redis.call('HINCRBY', K.sharesRunning, share, int(slots))
  if user then
    redis.call('HINCRBY', K.usersRunning, user, int(slots))
  end
end

-- A run leaves its clients: its share and user get its slots back, once. `read` (optional): the job's
-- slotsHeld, share and submittedBy as the caller read them; the caller then writes slotsHeld = 0 in its own
-- HSET (one call less than an HDEL here). 0 or absent: nothing held.
local function releaseSlots(key, read)
  local v = read or redis.call('HMGET', key, 'slotsHeld', 'share', 'submittedBy')
  local slots = tonumber(v[1])
  if not slots or slots <= 0 then
    return
  end
  if not read then
    redis.call('HDEL', key, 'slotsHeld')
  end
  local share = v[2] or 'default'
  local back = int(-slots)
  if redis.call('HINCRBY', K.sharesRunning, share, back) <= 0 then
    redis.call('HDEL', K.sharesRunning, share)
  end
  if v[3] and redis.call('HINCRBY', K.usersRunning, v[3], back) <= 0 then
    redis.call('HDEL', K.usersRunning, v[3])
  end
end
