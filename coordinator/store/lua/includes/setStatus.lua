-- @include util
-- The one place a job's status changes: status sets, {p}queue, roots/expiry sets, endTime, the log entry,
-- the ancestors' treeRun and startTime roll-ups, and the {p}events notice {"type":"job","jobId":N,"status":S}. QUIET_EVENTS lets a bulk script
-- publish one summary instead of one message per job.
local QUIET_EVENTS = false

local function setStatus(prefix, id, new, now)
  local key = jobKey(prefix, id)
  local old = redis.call('HGET', key, 'status')
  if old == new then
    return
  end
  if old then
    redis.call('ZREM', prefix .. 'jobs:status:' .. old, id)
  end
  -- The runnable set is the queue (util.lua): scored for dispatch, and each job is in its class too.
  if new == 'runnable' then
    enqueue(prefix, id)
  else
    redis.call('ZADD', prefix .. 'jobs:status:' .. new, id, id)
  end
  if old == 'runnable' then
    dequeue(prefix, id)
  end
  redis.call('HSET', key, 'status', new)
  appendLog(key, 'setting status to ' .. new, now)

  local wasFinished = old and FINISHED[old] or false
  local isFinished = FINISHED[new] or false
  if isFinished then
    redis.call('HSET', key, 'endTime', now)
  elseif wasFinished then
    redis.call('HDEL', key, 'endTime')
  end
  if (not old or wasFinished ~= isFinished) and redis.call('HEXISTS', key, 'parents') == 0 then
    if isFinished then
      redis.call('ZREM', prefix .. 'jobs:roots:unfinished', id)
      redis.call('ZADD', prefix .. 'jobs:roots:finished', id, id)
      redis.call('ZADD', prefix .. 'jobs:expiry', now, id)
    else
      redis.call('ZREM', prefix .. 'jobs:roots:finished', id)
      redis.call('ZREM', prefix .. 'jobs:expiry', id)
      redis.call('ZADD', prefix .. 'jobs:roots:unfinished', id, id)
    end
  end

  local wasRunning = old and RUNNING[old] or false
  local isRunning = RUNNING[new] or false
  if wasRunning ~= isRunning then
    addToAncestors(prefix, id, 'treeRun', isRunning and 1 or -1)
    if isRunning then
      redis.call('HSETNX', key, 'startTime', now)
      for _, a in ipairs(ancestors(prefix, id)) do
        redis.call('HSETNX', jobKey(prefix, a), 'startTime', now)
      end
    end
  end

  if not QUIET_EVENTS then
    redis.call('PUBLISH', prefix .. 'events', '{"type":"job","jobId":' .. id .. ',"status":"' .. new .. '"}')
  end
end
