-- fanOutNotices: ends claimed transitions and adds the deliveries each one fans out into (a mail, a webhook
-- delivery), already claimed by the same sender under the same lease: their due time is the transition's
-- token, which becomes their own. So the sender sends them at once without claiming them again, and if it
-- dies they fall due when its lease ends, for another coordinator to claim. A transition whose token no
-- longer matches (its lease ran out and another sender took it) is left alone and adds nothing.
-- ARGV: prefix, now, then per transition: id, token, n, body1..bodyn. Returns the new ids in the order of the
-- bodies, "" for each body of a stale transition.
-- @include notices
local out = {}
local i = 3
while i <= #ARGV do
  local id, token, n = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local live = tonumber(redis.call('ZSCORE', K.noticesDue, id)) == token
  if live then
    redis.call('ZREM', K.noticesDue, id)
    redis.call('HDEL', K.notices, id)
  end
  for j = 1, n do
    out[#out + 1] = live and addNotice(ARGV[i + 2 + j], token) or ''
  end
  i = i + 3 + n
end
return out
