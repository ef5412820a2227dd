-- Releases the clients a job holds: called by every move out of a running state (finish, abandon, cancel,
-- eject). Publishes {"type":"released","jobId":N,"clients":[cid...]} on {p}events. Idempotent: a client
-- already released is left alone. The job's `clients` field is kept (getJob reports who ran the job).
-- [scheduler helper] Resources held by the job (moveToAssigned writes `heldResources`: JSON list of
-- {rid, amount, perMachine, clientId}): per-job amounts go back to {p}resource:{rid} `used`; per-machine
-- units leave {p}resource:{rid}:machines (client -> jobs using it), and `used` = clients holding it.
local function releaseResources(prefix, id)
  local key = prefix .. 'job:' .. id
  local held = redis.call('HGET', key, 'heldResources')
  if not held then
    return
  end
  redis.call('HDEL', key, 'heldResources')
  for _, h in ipairs(cjson.decode(held)) do
    local rk = prefix .. 'resource:' .. string.format('%d', h.rid)
    if h.perMachine then
      local cid = string.format('%d', h.clientId)
      if redis.call('HINCRBY', rk .. ':machines', cid, -1) <= 0 then
        redis.call('HDEL', rk .. ':machines', cid)
      end
      redis.call('HSET', rk, 'used', redis.call('HLEN', rk .. ':machines'))
    elseif redis.call('HINCRBY', rk, 'used', -h.amount) < 0 then
      redis.call('HSET', rk, 'used', 0)
    end
  end
end

local function releaseClients(prefix, id)
  releaseResources(prefix, id)
  local clients = redis.call('HGET', prefix .. 'job:' .. id, 'clients')
  if not clients then
    return
  end
  local released = {}
  for _, c in ipairs(cjson.decode(clients)) do
    local cid = string.format('%d', c.clientId)
    if redis.call('SREM', prefix .. 'client:' .. cid .. ':jobs', id) == 1 then
      redis.call('LPUSH', prefix .. 'client:' .. cid .. ':history', id)
      redis.call('LTRIM', prefix .. 'client:' .. cid .. ':history', 0, 99)
      released[#released + 1] = cid
    end
  end
  if #released > 0 then
    redis.call('PUBLISH', prefix .. 'events',
      '{"type":"released","jobId":' .. id .. ',"clients":[' .. table.concat(released, ',') .. ']}')
  end
end
