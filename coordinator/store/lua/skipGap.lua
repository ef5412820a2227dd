-- skipGap: lets attempt A's event `seq` through a gap the agent cannot fill. The link calls it only when the
-- first event an agent resends after reconnecting is past the store's next seq: the agent had those events
-- acked, so the store lost them (a Redis restart or failover that lost writes: no waitReplicas, AOF
-- everysec). Records seq - 1 as applied (the output keeps a hole where the lost chunks were).
-- ARGV: prefix, now, id, attempt, seq. Returns 'ok', or 'stale' when A is not the job's current attempt.
-- @include fence
local key = K.job(ARGV[3])
local seq = tonumber(ARGV[5])
if redis.call('EXISTS', key) == 0 then
  return redis.error_reply('NOTFOUND job ' .. ARGV[3] .. ' does not exist')
end
if fenceRange(key, seq - 1, seq - 1, true) == 'stale' then
  return 'stale'
end
return 'ok'
