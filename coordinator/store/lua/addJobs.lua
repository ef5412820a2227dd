-- addJobs: creates every job of one newjob call atomically, or nothing.
-- ARGV: prefix, now (ms), JSON {"jobs":[{"fields":{field:string}, "newParents":[local parent index (0-based)],
--   "existingParents":[existing parent id], "existingChildren":[existing child id],
--   "inheritConditions":bool, "inheritSubmittedBy":bool, "inheritStallTimeout":bool, "inheritGpus":bool,
--   "inheritGpuMemory":bool, "inheritShare":bool, "preCounted":bool, "pendingKids":n}]}
-- The jobs come roots first; `fields` holds the coerced spec fields (jobspec.ts). Returns the new ids in order.
-- The payload leaves out empty id lists and inherit flags that are true (store/jobs.ts compactJob).
-- A tree too large for one call comes in several (store/jobs.ts addJobs): a job's parents made by an earlier
-- call are existing parents that counted it already (`preCounted`: their kidsLeft is not raised again), and
-- `pendingKids` counts the children later calls will make, so the job waits for them as for its children.
-- @include settle
local now = nowArg()
local jobs = cjson.decode(ARGV[3]).jobs
local n = #jobs
local NONE = {} -- the id lists left out of the payload (never written to)
for i = 1, n do
  local j = jobs[i]
  j.newParents = j.newParents or NONE
  j.existingParents = j.existingParents or NONE
  j.existingChildren = j.existingChildren or NONE
end

-- Validate every reference before writing anything.
local checkedParents = {}
for _, j in ipairs(jobs) do
  for _, p in ipairs(j.existingParents) do
    if not checkedParents[p] then
      checkedParents[p] = true
      local st = redis.call('HGET', K.job(p), 'status')
      if not st then
        return redis.error_reply('NOTFOUND parent job ' .. p .. ' does not exist')
      end
      if FINISHED[st] then
        return redis.error_reply('CONFLICT parent job ' .. p .. ' is ' .. st .. '; a finished job cannot gain children')
      end
    end
  end
  for _, c in ipairs(j.existingChildren) do
    if redis.call('EXISTS', K.job(c)) == 0 then
      return redis.error_reply('NOTFOUND child job ' .. c .. ' does not exist')
    end
  end
end

-- An existing child may not be an ancestor of its new parent (that would make a cycle).
local function localAncestorsExt(i, acc, seen)
  if seen[i] then
    return
  end
  seen[i] = true
  for _, p in ipairs(jobs[i].existingParents) do
    acc[tonumber(p)] = true
    for _, a in ipairs(ancestors(p)) do
      acc[tonumber(a)] = true
    end
  end
  for _, lp in ipairs(jobs[i].newParents) do
    localAncestorsExt(lp + 1, acc, seen)
  end
end
for i, j in ipairs(jobs) do
  if #j.existingChildren > 0 then
    local acc = {}
    localAncestorsExt(i, acc, {})
    for _, c in ipairs(j.existingChildren) do
      if acc[tonumber(c)] then
        return redis.error_reply('CONFLICT job ' .. c .. ' is an ancestor of the new job; it cannot be its child')
      end
    end
  end
end

local last = redis.call('INCRBY', K.ids('job'), n)
local ids = {}
for i = 1, n do
  ids[i] = last - n + i
end

-- A field of an existing job, read once per call: thousands of frames added to one parent read it once.
local existingFields = {}
local function existingField(id, field)
  local key = field .. ':' .. id
  local v = existingFields[key]
  if v == nil then
    v = redis.call('HGET', K.job(id), field) or false
    existingFields[key] = v
  end
  return v
end

local roots = {}
local function rootOf(i)
  if not roots[i] then
    local j = jobs[i]
    if #j.newParents > 0 then
      roots[i] = rootOf(j.newParents[1] + 1)
    elseif #j.existingParents > 0 then
      -- A root's own `root` is not stored (absent = itself): the parent is then the root.
      local p = j.existingParents[1]
      roots[i] = tonumber(existingField(p, 'root')) or tonumber(p)
    else
      roots[i] = ids[i]
    end
  end
  return roots[i]
end

-- A field the spec did not give (flag `inherit`) comes from the first parent, new or existing; false = none.
local inheritedValues = {}
local function inheritedField(i, field, inherit)
  local memo = inheritedValues[field]
  if not memo then
    memo = {}
    inheritedValues[field] = memo
  end
  if memo[i] == nil then
    local j = jobs[i]
    local value = j.fields[field] or false
    if j[inherit] ~= false then
      if #j.newParents > 0 then
        value = inheritedField(j.newParents[1] + 1, field, inherit)
      elseif #j.existingParents > 0 then
        value = existingField(j.existingParents[1], field)
      end
    end
    memo[i] = value
  end
  return memo[i]
end

-- The job's share: the spec's (or its first parent's), else the share its submitter maps to, else `default`.
-- A share no one configured is `default`, with a warning in the job's log (returned as the second value).
local knownShares, userShares = {}, {}
local function shareOf(i, submittedBy)
  local share = inheritedField(i, 'share', 'inheritShare')
  if not share or share == '' then
    if not submittedBy then
      return 'default'
    end
    if userShares[submittedBy] == nil then
      userShares[submittedBy] = redis.call('HGET', K.sharesUsers, submittedBy) or false
    end
    share = userShares[submittedBy] or 'default'
  end
  if share == 'default' then
    return share
  end
  if knownShares[share] == nil then
    knownShares[share] = redis.call('HEXISTS', K.shares, share) == 1
  end
  if knownShares[share] then
    return share
  end
  return 'default', 'share ' .. share .. ' is not configured: the job runs in share default'
end

-- The job whose maxRunning caps this one's runs: itself when it has one, else its first parent's (capBy).
local caps = {}
local inheritedCap
local function capOf(i)
  if caps[i] == nil then
    local j = jobs[i]
    if j.fields.maxRunning then
      caps[i] = ids[i]
    else
      caps[i] = inheritedCap(i)
    end
  end
  return caps[i]
end
-- The cap above job i (its first parent's capBy), false for none.
inheritedCap = function(i)
  local j = jobs[i]
  if #j.newParents > 0 then
    return capOf(j.newParents[1] + 1)
  elseif #j.existingParents > 0 then
    return tonumber(existingField(j.existingParents[1], 'capBy')) or false
  end
  return false
end

local indexOfId = {}
for i = 1, n do
  indexOfId[ids[i]] = i
end

-- Children lists and counters of the new jobs.
local kids, kidsLeft, kidsBad = {}, {}, {}
for i = 1, n do
  kids[i], kidsLeft[i], kidsBad[i] = {}, tonumber(jobs[i].pendingKids) or 0, 0
end
for i, j in ipairs(jobs) do
  for _, lp in ipairs(j.newParents) do
    local pi = lp + 1
    kids[pi][#kids[pi] + 1] = ids[i]
    kidsLeft[pi] = kidsLeft[pi] + 1
  end
end
for i, j in ipairs(jobs) do
  for _, c in ipairs(j.existingChildren) do
    kids[i][#kids[i] + 1] = tonumber(c)
    local st = redis.call('HGET', K.job(c), 'status')
    if not FINISHED[st] then
      kidsLeft[i] = kidsLeft[i] + 1
    elseif st ~= 'succeeded' then
      kidsBad[i] = kidsBad[i] + 1
    end
  end
end

-- Numbers go to Redis as text where this script has it already, or formats an id once for its several uses:
-- Redis 7.0 prints a Lua number with "%.17g" (glibc's float printing, thousands of instructions for a 13-digit
-- ms time), and string.format('%d') takes the integer path (util.lua int).
local idTexts = {}
for i = 1, n do
  idTexts[i] = int(ids[i])
end
-- f[name] = value, or no field when value is false or nil, without adding a key for nothing: in Lua 5.1
-- `t[k] = nil` on an absent key takes a free node of the table, and a table without one is rehashed.
local function put(f, name, value)
  if value or f[name] ~= nil then
    f[name] = value or nil
  end
end
local initial, newRoots = {}, {}
for i, j in ipairs(jobs) do
  local f = j.fields
  -- Not stored, as implied (store/jobs.ts header): `id` (the key names it), `attempt` 0 and a root's own
  -- `root`. Each stored field costs both whole-hash reads of the lifecycle (moveToAssigned, moveToFinished).
  f.queueTime = ARGV[2]
  local root = rootOf(i)
  if root ~= ids[i] then
    f.root = int(root)
    if j.inheritConditions ~= false then
      local ri = indexOfId[root]
      if ri then
        f.conditions = jobs[ri].fields.conditions
      else
        put(f, 'conditions', existingField(root, 'conditions'))
      end
    end
  end
  put(f, 'gpus', inheritedField(i, 'gpus', 'inheritGpus'))
  put(f, 'gpuMemory', inheritedField(i, 'gpuMemory', 'inheritGpuMemory'))
  local sb = inheritedField(i, 'submittedBy', 'inheritSubmittedBy')
  put(f, 'submittedBy', sb and sb ~= '' and sb)
  local share, warning = shareOf(i, f.submittedBy)
  put(f, 'share', share ~= 'default' and share)
  put(f, 'capBy', capOf(i))
  if f.maxRunning then
    put(f, 'capUp', inheritedCap(i))
  end
  f.cls = classOf(f.cpus, f.tags, f.conditions, f.minHosts, f.maxHosts, f.resources, f.commandByOs, f.gpus,
    f.gpuMemory, classScope(f.share, f.capBy, f.submittedBy))
  put(f, 'stallTimeout', inheritedField(i, 'stallTimeout', 'inheritStallTimeout'))
  local parents = {}
  for _, lp in ipairs(j.newParents) do
    parents[#parents + 1] = ids[lp + 1]
  end
  for _, p in ipairs(j.existingParents) do
    parents[#parents + 1] = tonumber(p)
  end
  if #parents > 0 then
    f.parents = encodeIds(parents)
  end
  if #kids[i] > 0 then
    f.children = encodeIds(kids[i])
    f.nKids = #kids[i]
  end
  if kidsLeft[i] > 0 then
    f.kidsLeft = kidsLeft[i]
  end
  if kidsBad[i] > 0 then
    f.kidsBad = kidsBad[i]
  end
  -- Most new jobs go straight to `queued` or `runnable`: written here in the same HSET, and put in their
  -- sets in bulk below. The rest (commandless, or with failed existing children) go through settle.
  local status = nil
  if kidsLeft[i] > 0 then
    status = 'queued'
  elseif kidsBad[i] == 0 and (f.command or f.commandByOs) then
    status = 'runnable'
  end
  if status then
    f.status = status
    f.logs = '[["setting status to ' .. status .. '",' .. ARGV[2] .. ']]'
    initial[i] = status
    if #parents == 0 then
      newRoots[#newRoots + 1] = idTexts[i]
    end
  end
  if warning then
    f.logs = logsWith(nil, warning, now)
    if status then
      f.logs = logsWith(f.logs, 'setting status to ' .. status, now)
    end
  end
  local args = {}
  for k, v in pairs(f) do
    args[#args + 1] = k
    args[#args + 1] = v
  end
  redis.call('HSET', K.job(ids[i]), unpack(args))
end

-- Links to existing parents, one write per parent (a call of 500 frames of one parent appends 500 ids once),
-- and to existing children.
local linked, linkOrder = {}, {}
for i, j in ipairs(jobs) do
  for _, p in ipairs(j.existingParents) do
    local l = linked[p]
    if not l then
      l = { ids = {}, counted = 0 }
      linked[p] = l
      linkOrder[#linkOrder + 1] = p
    end
    l.ids[#l.ids + 1] = ids[i]
    if not j.preCounted then
      l.counted = l.counted + 1
    end
  end
end
for _, p in ipairs(linkOrder) do
  local l = linked[p]
  local pk = K.job(p)
  appendIds(pk, 'children', l.ids)
  redis.call('HINCRBY', pk, 'nKids', #l.ids)
  if l.counted > 0 then
    redis.call('HINCRBY', pk, 'kidsLeft', l.counted)
    if redis.call('HGET', pk, 'status') == 'runnable' then
      redis.call('HDEL', pk, 'childError')
      setStatus(p, 'queued', now)
    end
  end
end
for i, j in ipairs(jobs) do
  for _, c in ipairs(j.existingChildren) do
    local ck = K.job(c)
    local list = idList(redis.call('HGET', ck, 'parents'))
    if #list == 0 then
      redis.call('ZREM', K.unfinishedRoots, c)
      redis.call('ZREM', K.expiry, c)
      for _, d in ipairs(subtree(c)) do
        redis.call('HSET', K.job(d), 'root', rootOf(i))
      end
    end
    list[#list + 1] = ids[i]
    putIds(ck, 'parents', list)
    -- The new parent's index of children (kidsIndex.lua) counts it in its status.
    local cv = redis.call('HMGET', ck, 'status', 'failKey')
    kidsIndexAdd(ids[i], c, cv[1], cv[2] or '(no message)')
    kidsTimingPlace(c, ck, { ids[i] })
  end
end

-- Roll-ups: each new job counts once in each of its ancestors, summed per ancestor (one HINCRBY each); an
-- attached subtree brings its own totals.
local ancestorsMemo, existingAncestors = {}, {}
local function existingWithAncestors(p)
  local list = existingAncestors[p]
  if not list then
    list = { tonumber(p) }
    for _, a in ipairs(ancestors(p)) do
      list[#list + 1] = tonumber(a)
    end
    existingAncestors[p] = list
  end
  return list
end
-- The ancestors of new job i, each once.
local function ancestorsOf(i)
  local list = ancestorsMemo[i]
  if list then
    return list
  end
  local j = jobs[i]
  if #j.newParents == 0 and #j.existingParents == 1 then
    -- Frames of one existing parent (a tree cut across calls) share its list.
    list = existingWithAncestors(j.existingParents[1])
    ancestorsMemo[i] = list
    return list
  end
  list = {}
  local seen = {}
  local function add(id)
    if not seen[id] then
      seen[id] = true
      list[#list + 1] = id
    end
  end
  for _, lp in ipairs(j.newParents) do
    add(ids[lp + 1])
    for _, a in ipairs(ancestorsOf(lp + 1)) do
      add(a)
    end
  end
  for _, p in ipairs(j.existingParents) do
    for _, a in ipairs(existingWithAncestors(p)) do
      add(a)
    end
  end
  ancestorsMemo[i] = list
  return list
end
local treeAdds, treeOrder = {}, {}
for i, j in ipairs(jobs) do
  if not j.fields.noProg then
    for _, a in ipairs(ancestorsOf(i)) do
      if not treeAdds[a] then
        treeAdds[a] = 0
        treeOrder[#treeOrder + 1] = a
      end
      treeAdds[a] = treeAdds[a] + 1
    end
  end
end
-- A new job stores no treeN of its own (util.lua treeNOf): a new parent's is
-- written here whole.
for _, a in ipairs(treeOrder) do
  local ni = indexOfId[a]
  if ni then
    redis.call('HSET', K.job(a), 'treeN', int(treeNOf(nil, jobs[ni].fields.noProg) + treeAdds[a]))
  else
    addTreeN(K.job(a), treeAdds[a])
  end
end
for i, j in ipairs(jobs) do
  for _, c in ipairs(j.existingChildren) do
    local v = redis.call('HMGET', K.job(c), 'treeN', 'treeP', 'treeRun', 'status', 'noProg')
    local run = (tonumber(v[3]) or 0) + (RUNNING[v[4]] and 1 or 0)
    local n = treeNOf(v[1], v[5])
    local targets = ancestors(ids[i])
    table.insert(targets, 1, ids[i])
    for _, t in ipairs(targets) do
      local tk = K.job(t)
      addTreeN(tk, n)
      if (tonumber(v[2]) or 0) ~= 0 then
        redis.call('HINCRBYFLOAT', tk, 'treeP', v[2])
      end
      if run > 0 then
        redis.call('HINCRBY', tk, 'treeRun', run)
      end
    end
  end
end

-- Statuses: bulk set membership for the jobs that were written `queued` or `runnable`. The lists come in
-- rising score order and go to Redis falling: while a sorted set is a listpack (up to
-- zset-max-listpack-entries), each member is inserted before the first with a higher score, found by a walk
-- from the head that parses every score it passes. Rising, each walk went to the end (128 members cost 8,000
-- parses, ~12k instructions per job per set for a new set); falling, each stops at the head.
local function zaddMany(key, pairsList)
  for top = #pairsList, 1, -2000 do
    local args, n = {}, 0
    for k = top, math.max(top - 1999, 1), -1 do
      args[n + 1], args[n + 2] = pairsList[k][1], pairsList[k][2]
      n = n + 2
    end
    redis.call('ZADD', key, unpack(args))
  end
end
local queued, runnable, queue = {}, {}, {}
for i = 1, n do
  if initial[i] == 'queued' then
    queued[#queued + 1] = { idTexts[i], idTexts[i] }
  elseif initial[i] == 'runnable' then
    runnable[#runnable + 1] = { idTexts[i], idTexts[i] }
  end
end
if #runnable > 0 then
  local seq = redis.call('INCRBY', K.queueSeq, #runnable) - #runnable
  markClock(now, seq + #runnable)
  local k = 0
  for i = 1, n do
    if initial[i] == 'runnable' then
      k = k + 1
      queue[k] = { -(tonumber(jobs[i].fields.priority) or 0) * QUEUE_SHIFT + seq + k, idTexts[i], i }
    end
  end
end
zaddMany(K.jobsByStatus('queued'), queued)
zaddMany(K.queue, queue)
-- The requirement classes (util.lua): each class's new jobs, and its head in {p}queue:heads.
local byClass, classes = {}, {}
for k = 1, #queue do
  local cls = jobs[queue[k][3]].fields.cls
  if not byClass[cls] then
    byClass[cls] = {}
    classes[#classes + 1] = cls
  end
  local list = byClass[cls]
  list[#list + 1] = queue[k]
end
for _, cls in ipairs(classes) do
  zaddMany(K.queueClass(cls), byClass[cls])
  local head = byClass[cls][1][1]
  for _, e in ipairs(byClass[cls]) do
    head = math.min(head, e[1])
  end
  redis.call('ZADD', K.queueHeads, 'LT', head, cls)
end
-- The parents' index of children (kidsIndex.lua): one ZADD per parent and status.
local kidsAdds, kidsOrder = {}, {}
for i, j in ipairs(jobs) do
  if initial[i] then
    local parents = {}
    for _, lp in ipairs(j.newParents) do
      parents[#parents + 1] = ids[lp + 1]
    end
    for _, p in ipairs(j.existingParents) do
      parents[#parents + 1] = p
    end
    for _, p in ipairs(parents) do
      local k = K.jobKids(p, initial[i])
      if not kidsAdds[k] then
        kidsAdds[k] = {}
        kidsOrder[#kidsOrder + 1] = k
      end
      local list = kidsAdds[k]
      list[#list + 1] = { ids[i], ids[i] }
    end
  end
end
for _, k in ipairs(kidsOrder) do
  zaddMany(k, kidsAdds[k])
end
local rootPairs = {}
for k, id in ipairs(newRoots) do
  rootPairs[k] = { id, id }
end
zaddMany(K.unfinishedRoots, rootPairs)

-- The others resolve now (commandless jobs finish at once, which can resolve their parents).
QUIET_EVENTS = true
local work = {}
for i = 1, n do
  if not initial[i] then
    resolveWaiting(ids[i], now, work)
  end
end
settle(now, work)
redis.call('PUBLISH', K.eventsChannel, '{"type":"jobs","added":' .. n .. ',"runnable":' .. #runnable .. '}')
return ids
