-- replaceNotice: ends a claimed notice (delivered, given up, or fanned out) and adds the notices that take
-- its place, due now; with id "" it only adds (the error digest). A claim whose token no longer matches (its
-- lease ran out and another sender took it) changes nothing and answers 0. `outcome` (JSON, or "") goes to
-- the head of the recent outcomes list.
-- ARGV: prefix, now, id, token, outcome, body...  Returns 1, or 0 for a stale claim.
-- @include notices
local now, id, token, outcome = nowArg(), ARGV[3], ARGV[4], ARGV[5]
if id ~= '' then
  if tonumber(redis.call('ZSCORE', K.noticesDue, id)) ~= tonumber(token) then
    return 0
  end
  redis.call('ZREM', K.noticesDue, id)
  redis.call('HDEL', K.notices, id)
end
for i = 6, #ARGV do
  addNotice(ARGV[i], now)
end
if outcome ~= '' then
  redis.call('LPUSH', K.noticesRecent, outcome)
  redis.call('LTRIM', K.noticesRecent, 0, 199)
end
return 1
