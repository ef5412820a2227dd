-- deleteJobs: deletes finished jobs and, cascading, their descendants whose every parent is deleted too
-- (a child shared with a job that stays, or not finished, is kept, detached). Any given job that is not finished fails the
-- whole call (CONFLICT) before anything changes. Output keys go with their jobs.
-- ARGV: prefix, now, id... Returns the number of jobs deleted.
-- A doomed set too large for one call is chunked by the job store (store/tree-walks.ts), parents first, as
-- ARGV: prefix, now, 'flat', g, id...: the first g ids are given jobs, the rest descendants, each of which
-- goes only while it still qualifies (finished, every parent listed here or gone already). These calls
-- leave a deleted job's children alone (a show's root has 150,000); the children that stay are detached
-- afterwards by ARGV: prefix, now, 'detach', id... (each loses the parents that are gone; returns 0).
-- @include util
-- @include logKeys
-- @include bladeHealth
-- @include kidsIndex
local now = nowArg()

-- Job n loses the parents `gone(p)` says are gone; one left without parents becomes a root.
local function detach(n, gone)
  local ck = K.job(n)
  local old = idList(redis.call('HGET', ck, 'parents'))
  local parents = {}
  for _, p in ipairs(old) do
    if not gone(tonumber(p)) then
      parents[#parents + 1] = p
    end
  end
  if #parents == #old then
    return
  end
  putIds(ck, 'parents', parents)
  if #parents == 0 then
    local cst = redis.call('HGET', ck, 'status')
    -- A root's `root` is itself: not stored (store/jobs.ts header).
    redis.call('HDEL', ck, 'root')
    if FINISHED[cst] then
      redis.call('ZADD', K.expiry, numField(ck, 'endTime', 0), n)
    else
      redis.call('ZADD', K.unfinishedRoots, n, n)
    end
  end
end
local function missing(p)
  return redis.call('EXISTS', K.job(p)) == 0
end

if ARGV[3] == 'detach' then
  for i = 4, #ARGV do
    if redis.call('EXISTS', K.job(ARGV[i])) == 1 then
      detach(tonumber(ARGV[i]), missing)
    end
  end
  return 0
end

local flat = ARGV[3] == 'flat'
local given, err = givenJobs(flat and 5 or 3)
if err then
  return err
end
local nGiven = flat and tonumber(ARGV[4]) or #given
for k = 1, nGiven do
  local id = given[k]
  local status = redis.call('HGET', K.job(id), 'status')
  if not FINISHED[status] then
    return redis.error_reply('CONFLICT job ' .. id .. ' is ' .. status .. '; only finished jobs can be deleted')
  end
end

-- The doomed set: the given jobs, then descendants all of whose parents are doomed.
local doomed, order = {}, {}
for _, id in ipairs(given) do
  doomed[tonumber(id)] = true
end
local listed = {}
for k, id in ipairs(given) do
  local n = tonumber(id)
  if flat then
    -- Parents come first in the list, so a parent kept here is known before its children; a parent
    -- deleted by an earlier call is gone (and counts as doomed for what follows). A descendant goes only if
    -- it is finished and every parent goes too; one that stays loses the parents that are gone.
    local v = redis.call('HMGET', K.job(n), 'status', 'parents')
    local all = FINISHED[v[1]] or false
    for _, p in ipairs(idList(v[2])) do
      local pn = tonumber(p)
      if not doomed[pn] then
        if missing(pn) then
          doomed[pn] = true
        else
          all = false
        end
      end
    end
    if k > nGiven and not all then
      doomed[n] = nil
      detach(n, missing)
    end
  end
  if doomed[n] and not listed[n] then
    listed[n] = true
    order[#order + 1] = n
  end
end
local i = flat and #order or 0
while i < #order do
  i = i + 1
  for _, c in ipairs(idList(redis.call('HGET', K.job(order[i]), 'children'))) do
    local n = tonumber(c)
    if not doomed[n] then
      local all = FINISHED[redis.call('HGET', K.job(n), 'status')] or false
      for _, p in ipairs(idList(redis.call('HGET', K.job(n), 'parents'))) do
        if not doomed[tonumber(p)] then
          all = false
        end
      end
      if all then
        doomed[n] = true
        order[#order + 1] = n
      end
    end
  end
end

for _, id in ipairs(order) do
  local key = K.job(id)
  local v = redis.call('HMGET', key, 'status', 'treeN', 'treeP', 'parents', 'children', 'treeRun', 'noProg')
  local status = v[1]
  -- The subtree's count for progress (an absent treeN is the job's own: util.lua treeNOf).
  local treeN = treeNOf(v[2], v[7])
  -- What runs in the subtree going away (a finished parent's children may still run): the job itself and
  -- its descendants (treeRun counts descendants only).
  local running = (tonumber(v[6]) or 0) + (RUNNING[status] and 1 or 0)
  local failKey = FAILED[status] and (redis.call('HGET', key, 'failKey') or '(no message)') or nil
  -- Parents that stay lose this child (from their index of children too) and its subtree's share of the roll-ups.
  for _, p in ipairs(idList(v[4])) do
    if not doomed[tonumber(p)] then
      local pk = K.job(p)
      kidsIndexRemove(p, id, status, failKey)
      kidsTimingRemove(p, id)
      putIds(pk, 'children', withoutId(idList(redis.call('HGET', pk, 'children')), id))
      redis.call('HINCRBY', pk, 'nKids', -1)
      if status ~= 'succeeded' and FINISHED[status] then
        -- A parent queued only to run its onChildError hook no longer has a failed child to report.
        if redis.call('HINCRBY', pk, 'kidsBad', -1) <= 0 then
          redis.call('HDEL', pk, 'kidsBad')
          if redis.call('HGET', pk, 'status') == 'runnable' then
            redis.call('HDEL', pk, 'childError')
          end
        end
      elseif not FINISHED[status] then
        redis.call('HINCRBY', pk, 'kidsLeft', -1)
      end
      local targets = ancestors(p)
      table.insert(targets, 1, p)
      for _, t in ipairs(targets) do
        -- (never HINCRBY by -0: Lua writes it as "-0", which Redis refuses as an integer)
        addTreeN(K.job(t), -treeN)
        if (tonumber(v[3]) or 0) ~= 0 then
          redis.call('HINCRBYFLOAT', K.job(t), 'treeP', -tonumber(v[3]))
        end
        if running ~= 0 then
          redis.call('HINCRBY', K.job(t), 'treeRun', -running)
        end
      end
    end
  end
  -- Children that stay lose this parent (chunked calls: the 'detach' call does it).
  if not flat then
    for _, c in ipairs(idList(v[5])) do
      local n = tonumber(c)
      if not doomed[n] then
        detach(n, function(p)
          return p == id
        end)
      end
    end
  end
  if v[5] then
    dropKidsIndex(id)
  end
  redis.call('ZREM', K.jobsByStatus(status), id)
  redis.call('ZREM', K.unfinishedRoots, id)
  redis.call('ZREM', K.expiry, id)
  dropLogs(key, id, now)
  dropBladeRecords(id)
  redis.call('DEL', key)
end
if #order > 0 then
  redis.call('PUBLISH', K.eventsChannel, '{"type":"jobs","deleted":' .. #order .. '}')
end
return #order
