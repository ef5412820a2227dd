-- rescheduleJobs: puts finished jobs back to work: each given job (unless it is running), its descendants that
-- did not succeed, and every finished ancestor of those (a parent must wait for its rescheduled child).
-- Phase 1 fixes the parents' counters (order-free); phase 2 gives each reopened job its waiting status.
-- ARGV: prefix, now, id... Returns the number of jobs rescheduled.
-- A set too large for one call is chunked by the job store (store/tree-walks.ts), which works out the set and
-- calls ARGV: prefix, now, 'counters', id... over all of it, then 'statuses', id... parents first; each
-- changes only the listed jobs that are still finished and returns how many.
-- @include settle
-- @include targets
local now = nowArg()

-- Phase 1 for one job: its own state, and its parents' counters.
local function reopenCounters(id, set)
  local key = K.job(id)
  local bad = redis.call('HGET', key, 'status') ~= 'succeeded'
  redis.call('HDEL', key, 'cmdDone', 'childError', 'lostAttempts')
  setProgress(id, 0)
  for _, p in ipairs(idList(redis.call('HGET', key, 'parents'))) do
    local pk = K.job(p)
    redis.call('HINCRBY', pk, 'kidsLeft', 1)
    if bad and redis.call('HINCRBY', pk, 'kidsBad', -1) <= 0 then
      redis.call('HDEL', pk, 'kidsBad')
    end
    if not set[tonumber(p)] and redis.call('HGET', pk, 'status') == 'runnable' then
      redis.call('HDEL', pk, 'childError')
      setStatus(p, 'queued', now)
    end
  end
end

-- Phase 2 for one job: its waiting status (what it finishes by itself goes to `work`).
local function reopen(id, work)
  appendLog(K.job(id), 'rescheduled', now)
  resolveIdle(id, now, work)
end

local mode = ARGV[3]
if mode == 'counters' or mode == 'statuses' then
  local listed, err = givenJobs(4)
  if err then
    return err
  end
  local work, count = {}, 0
  for _, id in ipairs(listed) do
    if FINISHED[redis.call('HGET', K.job(id), 'status')] then
      count = count + 1
      -- A listed parent is finished too, so never runnable: the set matters only to the one-call path.
      if mode == 'counters' then
        reopenCounters(id, {})
      else
        reopen(id, work)
      end
    end
  end
  settle(now, work)
  return count
end

local given, err = givenJobs(3)
if err then
  return err
end

local set, order = {}, {}
local function add(id)
  local n = tonumber(id)
  if set[n] then
    return
  end
  local status = redis.call('HGET', K.job(n), 'status')
  if FINISHED[status] then
    set[n] = true
    order[#order + 1] = n
  end
end
for _, id in ipairs(given) do
  local status = redis.call('HGET', K.job(id), 'status')
  if FINISHED[status] then
    for i, d in ipairs(subtree(id)) do
      local st = redis.call('HGET', K.job(d), 'status')
      if i == 1 or (FINISHED[st] and st ~= 'succeeded') then
        add(d)
      end
    end
  end
end
local reopened = #order
for i = 1, reopened do
  for _, a in ipairs(ancestors(order[i])) do
    add(a)
  end
end

for _, id in ipairs(order) do
  reopenCounters(id, set)
end

local work = {}
for _, id in ipairs(order) do
  reopen(id, work)
end
settle(now, work)
return #order
