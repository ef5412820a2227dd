-- @include setStatus
-- Finishing jobs and the cascade up the tree: a finished child updates each parent's kidsLeft/kidsBad, and a
-- `queued` parent whose last child finished is resolved (run its command, succeed, or fail), which can
-- finish it in turn. SETTLE_SKIP holds ids a cascading script is about to change itself (keyed by number);
-- false until a script sets it (skipSettling), so that no call pays for a table it does not use.
local SETTLE_SKIP = false -- @per-call

local function skipSettling(id)
  SETTLE_SKIP = SETTLE_SKIP or {}
  SETTLE_SKIP[id] = true
end

local function hasCommand(key)
  local c = redis.call('HGET', key, 'command')
  return (c and c ~= '') or redis.call('HEXISTS', key, 'commandByOs') == 1
end

-- A job whose children are all finished (new, `queued`, or being resumed). Appends {id, status} to `work`
-- when it finishes without running anything.
local function resolveWaiting(id, now, work)
  local key = K.job(id)
  if numField(key, 'kidsBad', 0) > 0 then
    if redis.call('HEXISTS', key, 'onChildError') == 1 then
      redis.call('HSET', key, 'childError', '1')
      setStatus(id, 'runnable', now)
    else
      work[#work + 1] = { id, 'failed' }
    end
  elseif redis.call('HGET', key, 'cmdDone') == '1' or not hasCommand(key) then
    work[#work + 1] = { id, 'succeeded' }
  else
    setStatus(id, 'runnable', now)
  end
end

-- The next status of a job that is not running and not finished: `queued` while children are unfinished.
local function resolveIdle(id, now, work)
  if numField(K.job(id), 'kidsLeft', 0) > 0 then
    setStatus(id, 'queued', now)
  else
    resolveWaiting(id, now, work)
  end
end

-- Applies each {id, finishedStatus} of `work`, and whatever finishing it causes up the tree.
local function settle(now, work)
  local i = 0
  while i < #work do
    i = i + 1
    local id, status = work[i][1], work[i][2]
    local key = K.job(id)
    -- A job without a command keeps progress 0.0, as HQueue reports it.
    if status == 'succeeded' and hasCommand(key) then
      setProgress(id, 1)
    end
    redis.call('HDEL', key, 'childError', 'pausedRunning')
    setStatus(id, status, now)
    local ok = status == 'succeeded'
    for _, p in ipairs(idList(redis.call('HGET', key, 'parents'))) do
      local pk = K.job(p)
      local left = redis.call('HINCRBY', pk, 'kidsLeft', -1)
      if left <= 0 then
        redis.call('HDEL', pk, 'kidsLeft')
      end
      if not ok then
        redis.call('HINCRBY', pk, 'kidsBad', 1)
      end
      if left <= 0 and not (SETTLE_SKIP and SETTLE_SKIP[tonumber(p)]) and redis.call('HGET', pk, 'status') == 'queued' then
        resolveWaiting(p, now, work)
      end
    end
  end
end

local function finish(id, status, now)
  settle(now, { { id, status } })
end
