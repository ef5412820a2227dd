-- pauseJobs: pauses the given jobs and their descendants. Waiting jobs become `paused` (and leave the queue);
-- running ones become `pausing` and their agents get a `pause` control message (confirmPaused follows).
-- ARGV: prefix, now, id... Returns the number of jobs changed.
-- @include setStatus
-- @include targets
local prefix, now = ARGV[1], tonumber(ARGV[2])
local targets, err = cascadeTargets(prefix, 3)
if err then
  return err
end
local count = 0
for _, id in ipairs(targets) do
  local key = jobKey(prefix, id)
  local status = redis.call('HGET', key, 'status')
  if status == 'queued' or status == 'runnable' then
    setStatus(prefix, id, 'paused', now)
    count = count + 1
  elseif status == 'running' or status == 'resuming' then
    redis.call('HSET', key, 'pausedRunning', '1')
    sendControl(prefix, id, 'pause')
    setStatus(prefix, id, 'pausing', now)
    count = count + 1
  end
end
return count
