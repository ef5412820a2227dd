-- claimNotices: takes up to `max` due notices for one sender: each one's due time moves to the end of the
-- lease, and that time is the claim's fencing token (a later claim, after the lease ran out, gets a later
-- one, so the first sender's ack or retry no longer matches). A notice whose body is gone is dropped. While
-- there is room, the transitions waiting in {p}notices:new come next, oldest first: each gets its id and
-- body in {p}notices and its lease in {p}notices:due, as if it had been due all along.
-- ARGV: prefix, now, leaseMs, max. Returns a flat list id, token, body, ...
-- @include notices
local now, leaseMs, max = nowArg(), tonumber(ARGV[3]), tonumber(ARGV[4])
local ids = redis.call('ZRANGE', K.noticesDue, '-inf', now, 'BYSCORE', 'LIMIT', 0, max)
local out = {}
local token = now + leaseMs
local claimed = 0
for _, id in ipairs(ids) do
  local body = redis.call('HGET', K.notices, id)
  if body then
    redis.call('ZADD', K.noticesDue, token, id)
    out[#out + 1] = id
    out[#out + 1] = tostring(token)
    out[#out + 1] = body
    claimed = claimed + 1
  else
    redis.call('ZREM', K.noticesDue, id)
  end
end
local new = max > claimed and redis.call('LPOP', K.noticesNew, max - claimed)
if new then
  local first = redis.call('INCRBY', K.noticeSeq, #new) - #new
  local bodies, due = {}, {}
  for i, body in ipairs(new) do
    local id = noticeId(first + i)
    bodies[2 * i - 1], bodies[2 * i] = id, body
    due[2 * i - 1], due[2 * i] = token, id
    out[#out + 1] = id
    out[#out + 1] = tostring(token)
    out[#out + 1] = body
  end
  redis.call('HSET', K.notices, unpack(bodies))
  redis.call('ZADD', K.noticesDue, unpack(due))
end
return out
