-- farmAlive: every coordinator stamps `{p}coordinators:alive` (ms) about once a second. When the previous
-- stamp is older than `gap` ms (or missing), no coordinator could hear heartbeats meanwhile (all were down,
-- or Redis was): every client's last heartbeat is moved up to now, so each gets a full activeTimeout to
-- reconnect before its jobs are called lost. ARGV: prefix, now, gap. Returns the number of clients refreshed.
local now, gap = nowArg(), tonumber(ARGV[3])
local key = K.coordinatorsAlive
local last = tonumber(redis.call('GET', key))
redis.call('SET', key, now)
if last and now - last <= gap then
  return 0
end
local beats = K.clientHeartbeats
local ids = redis.call('ZRANGEBYSCORE', beats, '-inf', '(' .. now)
for _, id in ipairs(ids) do
  redis.call('ZADD', beats, now, id)
end
return #ids
