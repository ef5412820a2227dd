-- checkJobs: the read-only check a bulk operation makes over all its ids before changing any (the operation
-- then runs in chunks): every job exists, and with mode 'finished' every job is finished (deleteJobs).
-- ARGV: prefix, now, mode ('exist' | 'finished'), id... Returns 1, or the NOTFOUND / CONFLICT reply the
-- operation's own script would give.
-- @include util
local mode = ARGV[3]
for i = 4, #ARGV do
  local status = redis.call('HGET', K.job(ARGV[i]), 'status')
  if not status then
    return redis.error_reply('NOTFOUND job ' .. ARGV[i] .. ' does not exist')
  end
  if mode == 'finished' and not FINISHED[status] then
    return redis.error_reply('CONFLICT job ' .. ARGV[i] .. ' is ' .. status .. '; only finished jobs can be deleted')
  end
end
return 1
