-- scanClients: one chunk of the Clients page's scan (store/client-list.ts): which of the given clients are
-- registered and in the asked state, with the one column the page sorts by. Only what the page needs comes
-- back (an id, or an id and a value, per match), and only the fields that decide it are read: a sort by
-- load of 10,000 blades reads and returns one field each. Read-only; ~1,000 ids a call (a few ms).
-- The state is shared/client-state.ts's rule (the test compares it with the clients API's, blade for
-- blade); whether a client responds is coordinator/liveness.ts's, whose time limit comes in ARGV.
-- ARGV: prefix, now, responding since (ms: an older last heartbeat is not responding), state ('' = any),
-- column ('' = none, or state, cpus, load, memory, jobs, lastHeartbeat), id...
-- Returns {id, ...} without a column, else {id, value, id, value, ...} (an absent field is false).
-- @read-only
local now = nowArg()
local since = tonumber(ARGV[3])
local want = ARGV[4]
local column = ARGV[5]
local needState = want ~= '' or column == 'state'
local STATE_FIELDS = { 'hostname', 'connected', 'lastHeartbeat', 'disabled', 'quarantinedUntil', 'available' }

local function stateOf(v, id)
  if v[2] ~= '1' or (tonumber(v[3]) or 0) < since then
    return 'not_responding'
  end
  if v[4] == '1' then
    return 'disabled'
  end
  if (tonumber(v[5]) or 0) > now then
    return 'quarantined'
  end
  if v[6] == '0' then
    return 'unavailable'
  end
  return redis.call('SCARD', K.clientJobs(id)) > 0 and 'busy' or 'idle'
end

local FIELD = { cpus = true, load = true, memory = true, lastHeartbeat = true }
local out = {}
for i = 6, #ARGV do
  local id = ARGV[i]
  local key = K.client(id)
  local registered, state, value
  if needState then
    local v = redis.call('HMGET', key, unpack(STATE_FIELDS))
    registered = v[1] ~= false
    state = registered and stateOf(v, id)
  elseif FIELD[column] then
    local v = redis.call('HMGET', key, 'hostname', column)
    registered = v[1] ~= false
    value = v[2]
  else
    registered = redis.call('HEXISTS', key, 'hostname') == 1
  end
  if registered and (want == '' or state == want) then
    out[#out + 1] = tonumber(id)
    if column == 'state' then
      out[#out + 1] = state
    elseif column == 'jobs' then
      out[#out + 1] = redis.call('SCARD', K.clientJobs(id))
    elseif FIELD[column] then
      if value == nil then
        value = redis.call('HGET', key, column)
      end
      out[#out + 1] = value
    end
  end
end
return out
