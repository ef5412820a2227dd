-- @include util
-- @include notices
-- @include kidsIndex
-- The one place a job's status changes: status sets, the queue and its classes, roots/expiry sets, endTime,
-- the log entry, the parents' index of children (kidsIndex.lua), the ancestors' treeRun and startTime roll-ups, and the {p}events notice
-- {"type":"job","jobId":N,"status":S}, and the outbox notice of a transition someone wants (notices.lua).
-- QUIET_EVENTS lets a bulk script publish one summary instead of one message per job (notices are not quiet).
--
-- `known` (optional) lets a hot transition (moveToAssigned, moveToFinished) pass what it has read already
-- and write its own fields in the same HSET: status (the old status), cls, parents (the field, or false for
-- a root), logs (false for none), set (a list field, value, ... to write too), released (client ids the
-- transition released: they ride on the notice as "released":[...] instead of a notice of their own), quiet
-- (no notice: moveToAssigned, whose job leaves the queue and which only the assigning scheduler acts on).
local QUIET_EVENTS = false -- @per-call
-- The log text of each new status, encoded once per library load (a status is one of a few names).
local STATUS_LOG_JSON = {}

local function setStatus(id, new, now, known)
  local key = K.job(id)
  local old
  if known then
    old = known.status
  else
    old = redis.call('HGET', key, 'status')
  end
  if old == new then
    return
  end
  if old then
    redis.call('ZREM', K.jobsByStatus(old), id)
  end
  -- The runnable set is the queue (util.lua): scored for dispatch, and each job is in its class too.
  if new == 'runnable' then
    enqueue(id, now)
  else
    redis.call('ZADD', K.jobsByStatus(new), id, id)
  end
  if old == 'runnable' then
    dequeue(id, known and known.cls or nil)
  end
  local logs
  if known then
    logs = known.logs or nil
  else
    logs = redis.call('HGET', key, 'logs') or nil
  end
  local logJson = STATUS_LOG_JSON[new]
  if not logJson then
    logJson = cjson.encode('setting status to ' .. new)
    STATUS_LOG_JSON[new] = logJson
  end
  local fields = { 'status', new, 'logs', logsWithJson(logs, logJson, now) }
  if known and known.set then
    local set, n = known.set, #fields
    for i = 1, #set do
      fields[n + i] = set[i]
    end
  end

  local wasFinished = old and FINISHED[old] or false
  local isFinished = FINISHED[new] or false
  if isFinished then
    fields[#fields + 1] = 'endTime'
    fields[#fields + 1] = int(now)
  elseif wasFinished then
    redis.call('HDEL', key, 'endTime')
  end
  local parentsText
  if known and known.parents ~= nil then
    parentsText = known.parents or nil
  else
    parentsText = redis.call('HGET', key, 'parents') or nil
  end
  local root = not parentsText
  local failKey = kidsIndexMove(id, key, parentsText, old, new)
  if failKey then
    fields[#fields + 1] = failKey[1]
    fields[#fields + 1] = failKey[2]
  end
  redis.call('HSET', key, unpack(fields))
  if (not old or wasFinished ~= isFinished) and root then
    if isFinished then
      redis.call('ZREM', K.unfinishedRoots, id)
      redis.call('ZADD', K.expiry, int(now), id)
    else
      redis.call('ZREM', K.expiry, id)
      redis.call('ZADD', K.unfinishedRoots, id, id)
    end
  end

  local wasRunning = old and RUNNING[old] or false
  local isRunning = RUNNING[new] or false
  if wasRunning ~= isRunning and not root then
    addToAncestors(id, 'treeRun', isRunning and 1 or -1)
    if isRunning then
      for _, a in ipairs(ancestors(id)) do
        -- An ancestor that is a child itself has run from now on, for its parents' duration index too.
        if redis.call('HSETNX', K.job(a), 'startTime', now) == 1 then
          local above = redis.call('HGET', K.job(a), 'parents')
          if above then
            kidsTimingPlace(a, K.job(a), idList(above))
          end
        end
      end
    end
  end
  if isRunning and not wasRunning and not (known and known.startTime) then
    redis.call('HSETNX', key, 'startTime', now)
  end
  -- A child's place in its parents' duration index changes when it starts and when it finishes or leaves
  -- finished (kidsIndex.lua); read after every field of the move is written.
  if not root and (wasFinished ~= isFinished or (isRunning and not wasRunning)) then
    kidsTimingPlace(id, key, idList(parentsText))
  end

  noticeOnStatus(id, key, old, new, now)

  if not QUIET_EVENTS and not (known and known.quiet) then
    local released = ''
    if known and known.released and #known.released > 0 then
      released = ',"released":[' .. table.concat(known.released, ',') .. ']'
    end
    redis.call('PUBLISH', K.eventsChannel, '{"type":"job","jobId":' .. id .. ',"status":"' .. new .. '"' .. released .. '}')
  end
end
