-- claimNotices: takes up to `max` due notices for one sender: each one's due time moves to the end of the
-- lease, and that time is the claim's fencing token (a later claim, after the lease ran out, gets a later
-- one, so the first sender's ack or retry no longer matches). A notice whose body is gone is dropped.
-- ARGV: prefix, now, leaseMs, max. Returns a flat list id, token, body, ...
-- @include notices
local now, leaseMs, max = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local ids = redis.call('ZRANGE', K.noticesDue, '-inf', now, 'BYSCORE', 'LIMIT', 0, max)
local out = {}
local token = now + leaseMs
for _, id in ipairs(ids) do
  local body = redis.call('HGET', K.notices, id)
  if body then
    redis.call('ZADD', K.noticesDue, token, id)
    out[#out + 1] = id
    out[#out + 1] = tostring(token)
    out[#out + 1] = body
  else
    redis.call('ZREM', K.noticesDue, id)
  end
end
return out
