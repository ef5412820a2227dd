-- clearJobBlocklist: the blades of job tree `root` start afresh: blocklisted ones may take its frames again
-- and their failure counts for it restart (includes/bladeHealth.lua). With a client id, only that blade.
-- ARGV: prefix, now, root job id, client id ("" = every blade). Returns how many blades were unblocked;
-- NOTFOUND for an unknown job.
-- @include bladeHealth
local now, root, only = nowArg(), ARGV[3], ARGV[4]
if redis.call('EXISTS', K.job(root)) == 0 then
  return redis.error_reply('NOTFOUND job_id: no job ' .. root)
end
local blades = only ~= '' and { only } or redis.call('SMEMBERS', K.jobBlocked(root))
local cleared = 0
for _, cid in ipairs(blades) do
  if redis.call('SREM', K.jobBlocked(root), cid) == 1 then
    cleared = cleared + 1
    redis.call('ZREM', K.clientBlocked(cid), root)
    bladeEvent(cid, { t = now, event = 'unblocked', job = tonumber(root) })
    bladeChanged(cid)
  end
end
if only ~= '' then
  redis.call('HDEL', K.jobBladeFails(root), only)
else
  redis.call('DEL', K.jobBladeFails(root))
end
if cleared > 0 then
  appendLog(K.job(root), cleared .. ' blade(s) taken off the blocklist', now)
end
return cleared
