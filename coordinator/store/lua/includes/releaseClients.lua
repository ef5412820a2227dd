-- @include shares
-- Releases the clients a job holds: called by every move out of a running state (finish, abandon, cancel,
-- eject). Publishes {"type":"released","jobId":N,"clients":[cid...]} on {p}events. Idempotent: a client
-- already released is left alone. The job's `clients` field is kept (getJob reports who ran the job).
-- [scheduler helper] Resources held by the job (moveToAssigned writes `heldResources`: JSON list of
-- {rid, amount, perMachine, clientId}): per-job amounts go back to {p}resource:{rid} `used`; per-machine
-- units leave {p}resource:{rid}:machines (client -> jobs using it), and `used` = clients holding it.
local function releaseHeld(key, held)
  if not held then
    return
  end
  redis.call('HDEL', key, 'heldResources')
  for _, h in ipairs(cjson.decode(held)) do
    local rk = K.resource(string.format('%d', h.rid))
    if h.perMachine then
      local cid = string.format('%d', h.clientId)
      if redis.call('HINCRBY', K.resourceMachinesOf(rk), cid, -1) <= 0 then
        redis.call('HDEL', K.resourceMachinesOf(rk), cid)
      end
      redis.call('HSET', rk, 'used', redis.call('HLEN', K.resourceMachinesOf(rk)))
    elseif redis.call('HINCRBY', rk, 'used', -h.amount) < 0 then
      redis.call('HSET', rk, 'used', 0)
    end
  end
end

-- `read` (optional): what the caller read of the job already, {held = heldResources, ids = the client ids of
-- its clients field (clientIdsOf; nil without the field), slots = {slotsHeld, share, submittedBy}}; with
-- `slots` the caller writes slotsHeld = 0 in its own HSET (releaseSlots). With `quiet` the released client ids are returned for the
-- caller's own notice (setStatus `known.released`) instead of published here.
local function releaseClients(id, read, quiet)
  local key = K.job(id)
  local held, ids
  if read then
    held, ids = read.held, read.ids
  else
    local v = redis.call('HMGET', key, 'heldResources', 'clients')
    held, ids = v[1], v[2] and clientIdsOf(v[2])
  end
  releaseHeld(key, held)
  releaseSlots(key, read and read.slots)
  if not ids then
    return {}
  end
  local released = {}
  for i = 1, #ids do
    local cid = ids[i]
    if redis.call('SREM', K.clientJobs(cid), id) == 1 then
      -- Trimmed now and then rather than on every push: the list stays near its cap of 100.
      if redis.call('LPUSH', K.clientHistory(cid), id) > 110 then
        redis.call('LTRIM', K.clientHistory(cid), 0, 99)
      end
      released[#released + 1] = cid
    end
  end
  if #released > 0 and not quiet then
    redis.call('PUBLISH', K.eventsChannel,
      '{"type":"released","jobId":' .. id .. ',"clients":[' .. table.concat(released, ',') .. ']}')
  end
  return released
end
