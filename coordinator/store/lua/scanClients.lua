-- scanClients: one chunk of the Clients page's scan (store/client-list.ts): for each given client that is
-- registered, what its state and the sortable columns come from. Read-only; ~1,000 ids a call (a few ms).
-- ARGV: prefix, now, id...
-- Returns {id, disabled, available, quarantinedUntil, connected, lastHeartbeat, cpus, load, memory,
-- running jobs, id, ...} (absent fields false).
-- @read-only
local out = {}
for i = 3, #ARGV do
  local v = redis.call('HMGET', K.client(ARGV[i]), 'hostname', 'disabled', 'available', 'quarantinedUntil',
    'connected', 'lastHeartbeat', 'cpus', 'load', 'memory')
  if v[1] then
    out[#out + 1] = tonumber(ARGV[i])
    for k = 2, 9 do
      out[#out + 1] = v[k] or false
    end
    out[#out + 1] = redis.call('SCARD', K.clientJobs(ARGV[i]))
  end
end
return out
