-- moveToAssigned: give a runnable job to one or more clients, atomically, or hold clients for it.
-- The scheduler proposes; this script decides, so two coordinators never hand out one job twice.
-- ARGV: prefix, now (ms), jobId, clientId...
-- Replies:
--   {"assigned", attempt, <the job's fields its `assign` message needs, flat>}   the job is running on its
--                      `clients` (ASSIGN_FIELDS and id, attempt, clients, cpus; absent fields are left out)
--   {"held", n, missing, waitingFor}   a multi-host job holds n clients (clientsOnHold), `missing` short of
--                      minHosts
--   {"gone"}           the job is no longer runnable (taken, paused, cancelled, deleted)
--   {"busy", cid}      none of the proposed clients can take the job now (the last refusal's client)
--   {"resources", name, "busy"|"undefined", waitingFor}   the job's resource `name` has no unit free now,
--                      or no resource has that name
--   {"capped", kind, subject, running, limit, waitingFor}   a running limit holds the job back (capRefusal:
--                      a maxRunning ancestor, its share's burst, its user's cap)
-- A refusal writes no reason: scheduler/waiting-reasons.ts words it from the parts, and the scheduler stores it
-- with setWaiting where it differs from the job's waitingFor as it was here (the reply's last part).
-- @include setStatus
-- @include shares
-- @include assignFields

local now = nowArg()
local id = ARGV[3]
local key = K.job(id)

-- The job, read whole in one pass (readHash: a queued job's hash is small, and this transition reads most of
-- it); setStatus gets what it needs as `known`.
local f = readHash(key)
if f.status ~= 'runnable' then return {'gone'} end
local cpus = tonumber(f.cpus) or 1
local tags = f.tags and cjson.decode(f.tags) or EMPTY
local minHosts = math.max(tonumber(f.minHosts) or 1, 1)
local maxHosts = math.max(tonumber(f.maxHosts) or 1, minHosts)

-- GPUs each client books and the MB each must have: a device is booked by one job at a time, like a CPU
-- slot. The devices a job holds are in its `clients` entries (`gpus`), so every move that releases its
-- clients frees them too.
local gpus = tonumber(f.gpus) or 0
local gpuMemory = tonumber(f.gpuMemory) or 0

local single = false
local singleX = EMPTY
for i = 1, #tags do
  local t = tags[i]
  if t == 'single' then single = true
  elseif type(t) == 'string' and string.sub(t, 1, 7) == 'single:' then
    if singleX == EMPTY then singleX = {} end
    singleX[t] = true
  end
end

-- The first `gpus` devices of the client (in the order its agent reported them) with enough memory that none
-- of its jobs holds, or nil when too few are free (scheduler/gpus.ts picks the same way).
local function pickGpus(cid, devicesJson, jobs)
  local booked = {}
  for _, jid in ipairs(jobs) do
    local run = redis.call('HGET', K.job(jid), 'clients')
    if run then
      for _, c in ipairs(cjson.decode(run)) do
        if tostring(c.clientId) == cid and type(c.gpus) == 'table' then
          for _, index in ipairs(c.gpus) do booked[index] = true end
        end
      end
    end
  end
  local picked = {}
  for _, d in ipairs(devicesJson and cjson.decode(devicesJson) or {}) do
    if #picked == gpus then break end
    if not booked[d.index] and (tonumber(d.memory) or 0) >= gpuMemory then picked[#picked + 1] = d.index end
  end
  if #picked < gpus then return nil end
  return picked
end

-- Can client `cid` take this job now? Packing is derived from the jobs the client holds. Returns its
-- hostname, the GPU indices booked there (nil for a job without GPUs) and whether it is on probation.
local refused = nil
local function fits(cid)
  -- Its GPUs only for a job that wants some: a field fewer to look up in the client's record otherwise.
  local c = gpus > 0 and redis.call('HMGET', K.client(cid), 'hostname', 'cpus', 'disabled', 'available', 'terminated',
    'heldFor', 'quarantinedUntil', 'probation', 'gpuDevices') or redis.call('HMGET', K.client(cid), 'hostname', 'cpus',
    'disabled', 'available', 'terminated', 'heldFor', 'quarantinedUntil', 'probation')
  if not c[1] or c[3] == '1' or c[4] == '0' or c[5] == '1' then return nil end
  if c[6] and c[6] ~= '' and c[6] ~= id then return nil end
  -- A quarantined blade takes nothing; on probation, one frame at a time (includes/bladeHealth.lua).
  if c[7] and tonumber(c[7]) > now then return nil end
  local jobs = redis.call('SMEMBERS', K.clientJobs(cid))
  if (single or c[8] == '1') and #jobs > 0 then return nil end
  local used = 0
  for i = 1, #jobs do
    local jid = jobs[i]
    -- `status` tells a job that is gone (nothing used) from one whose cpus is absent (the default, 1).
    local r = redis.call('HMGET', K.job(jid), 'cpus', 'tags', 'status')
    if r[3] then used = used + (tonumber(r[1]) or 1) end
    if r[2] then
      for _, t in ipairs(cjson.decode(r[2])) do
        if t == 'single' or singleX[t] then return nil end
      end
    end
  end
  if used + cpus > (tonumber(c[2]) or 1) then return nil end
  if gpus > 0 then
    local picked = pickGpus(cid, c[9], jobs)
    if not picked then return nil end
    return c[1], picked, c[8] == '1'
  end
  return c[1], nil, c[8] == '1'
end

-- Candidates: clients already on hold for this job first (they were waiting longest), then the proposed ones.
local seen = {}
local chosen = {}
local held = f.clientsOnHold and cjson.decode(f.clientsOnHold) or EMPTY
local function consider(cid)
  cid = tostring(cid)
  if seen[cid] then return end
  seen[cid] = true
  local host, picked, probation = fits(cid)
  if host then chosen[#chosen + 1] = {cid = cid, hostname = host, gpus = picked, probation = probation}
  else refused = cid end
end
for i = 1, #held do consider(held[i].clientId) end
for i = 4, #ARGV do consider(ARGV[i]) end

local function setHold(list)
  for _, h in ipairs(held) do redis.call('HSET', K.client(h.clientId), 'heldFor', '') end
  local out = {}
  for _, c in ipairs(list) do
    redis.call('HSET', K.client(c.cid), 'heldFor', id)
    table.insert(out, {hostname = c.hostname, clientId = tonumber(c.cid)})
  end
  if #out == 0 then redis.call('HDEL', key, 'clientsOnHold')
  else redis.call('HSET', key, 'clientsOnHold', cjson.encode(out)) end
end

if #chosen < minHosts then
  if #chosen == 0 then
    setHold(chosen)
    return {'busy', refused or ''}
  end
  setHold(chosen)
  return {'held', #chosen, minHosts - #chosen, f.waitingFor or ''}
end
while #chosen > maxHosts do table.remove(chosen) end

-- Running limits: the run's slots against maxRunning, its share's burst and its user's cap (shares.lua).
local share = f.share or 'default'
local user = f.submittedBy
local slots = cpus * #chosen
local cap = capRefusal(share, user, f.capBy, slots)
if cap then
  table.insert(cap, f.waitingFor or '')
  return {'capped', unpack(cap)}
end

-- Resources: per job, `used` counts amounts; per machine, {p}resource:{rid}:machines counts jobs per client
-- and a job needs one unit on each of its clients.
local want = f.resources and cjson.decode(f.resources) or EMPTY
local plan = {}
for name, amount in pairs(want) do
  local rid = redis.call('HGET', K.resourcesByName, name)
  if not rid then
    return {'resources', name, 'undefined', f.waitingFor or ''}
  end
  local rk = K.resource(rid)
  local r = redis.call('HMGET', rk, 'amount', 'perMachine', 'used')
  local total = tonumber(r[1]) or 0
  amount = tonumber(amount) or 1
  if r[2] == '1' then
    local fresh = 0
    for _, c in ipairs(chosen) do
      if redis.call('HEXISTS', K.resourceMachinesOf(rk), c.cid) == 0 then fresh = fresh + 1 end
    end
    if redis.call('HLEN', K.resourceMachinesOf(rk)) + fresh > total then
      return {'resources', name, 'busy', f.waitingFor or ''}
    end
    for _, c in ipairs(chosen) do table.insert(plan, {rid = tonumber(rid), amount = 1, perMachine = true, clientId = tonumber(c.cid)}) end
  else
    if (tonumber(r[3]) or 0) + amount > total then
      return {'resources', name, 'busy', f.waitingFor or ''}
    end
    table.insert(plan, {rid = tonumber(rid), amount = amount, perMachine = false})
  end
end
for i = 1, #plan do
  local h = plan[i]
  local rk = K.resource(h.rid)
  if h.perMachine then
    redis.call('HINCRBY', K.resourceMachinesOf(rk), h.clientId, 1)
    redis.call('HSET', rk, 'used', redis.call('HLEN', K.resourceMachinesOf(rk)))
  else
    redis.call('HINCRBY', rk, 'used', h.amount)
  end
end
if #plan > 0 then redis.call('HSET', key, 'heldResources', cjson.encode(plan)) end

-- Assign: one HSET of the job's own fields with the status change, one HDEL of what waiting left behind.
for i = 1, #held do redis.call('HSET', K.client(held[i].clientId), 'heldFor', '') end
if f.clientsOnHold or f.waitingFor or f.showBlockedClientsWarning then redis.call('HDEL', key, 'clientsOnHold', 'waitingFor', 'showBlockedClientsWarning') end
-- `clients` is written as text (cjson would format each number as a float): [{hostname, clientId, master,
-- gpus?}, ...].
local clients = {}
local logs = f.logs
for i = 1, #chosen do
  local c = chosen[i]
  redis.call('SADD', K.clientJobs(c.cid), id)
  local gpuList = ''
  if c.gpus then
    local indices = {}
    for k, index in ipairs(c.gpus) do indices[k] = int(index) end
    gpuList = ',"gpus":[' .. table.concat(indices, ',') .. ']'
  end
  -- c.cid is the client's id as its hash is named (fits read it), so its own text.
  clients[i] = '{"hostname":' .. cjson.encode(c.hostname) .. ',"clientId":' .. c.cid .. ',"master":' ..
    (i == 1 and 'true' or 'false') .. gpuList .. '}'
  logs = logsWith(logs, 'Assigned to ' .. c.hostname .. (i == 1 and ' (master)' or ''), now)
end
local attemptNumber = (tonumber(f.attempt) or 0) + 1
local attempt = int(attemptNumber)
local encoded = '[' .. table.concat(clients, ',') .. ']'
holdSlots(share, user, slots)
local set = {'attempt', attempt, 'clients', encoded, 'startTime', ARGV[2], 'slotsHeld', int(slots)}
-- A first attempt has no earlier output for the event fence (fence.lua) to clear: start its sequence here.
if attempt == '1' and not f.seqAttempt then
  table.insert(set, 'seqAttempt')
  table.insert(set, attempt)
end
if f.progress then setProgress(id, 0) end
-- A run on a blade on probation ends it by succeeding (bladeHealth.lua bladeSucceeded): the job says so, so
-- that the common success need not look the blade up.
if chosen[1].probation then
  set[#set + 1] = 'onProbation'
  set[#set + 1] = '1'
end
-- A new run's time starts afresh: the paused time of an earlier run (confirmPaused/confirmResumed) goes.
if attempt ~= '1' then redis.call('HDEL', key, 'pausedMs', 'pausedAt', 'onProbation') end
setStatus(id, 'running', now,
  {status = 'runnable', cls = f.cls, parents = f.parents or false, logs = logs or false, set = set, startTime = true,
   quiet = true})
-- The scheduler needs no notice of its own dispatch; viewers of GET /events (web/event-stream.ts) do, on a
-- channel of their own (a PUBLISH nobody listens to costs Redis next to nothing). It carries the job's tree,
-- submitter and share, read above anyway, so that the stream need not read them for this job's later notices.
redis.call('PUBLISH', K.viewerEventsChannel, '{"type":"job","jobId":' .. id .. ',"status":"running","root":' ..
  (f.root or id) .. ',"user":' .. cjson.encode(user or '') .. ',"share":' .. cjson.encode(share) .. '}')
local job = {'id', id, 'attempt', attempt, 'clients', encoded}
local n = #job
-- Numeric loops on this path: ipairs calls its iterator (a C function) once per element.
for i = 1, #ASSIGN_FIELDS do
  local name = ASSIGN_FIELDS[i]
  local v = f[name]
  if v then
    job[n + 1], job[n + 2] = name, v
    n = n + 2
  end
end
return {'assigned', attemptNumber, job}