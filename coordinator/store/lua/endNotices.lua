-- endNotices: ends claimed deliveries (sent, or given up), many in one call, each outcome (JSON, or "") going
-- to the head of the recent outcomes list. A claim whose token no longer matches (see replaceNotice.lua) is
-- left alone.
-- ARGV: prefix, now, then id, token, outcome per delivery.  Returns how many ended.
local ended, recorded = 0, false
for i = 3, #ARGV, 3 do
  local id, outcome = ARGV[i], ARGV[i + 2]
  if tonumber(redis.call('ZSCORE', K.noticesDue, id)) == tonumber(ARGV[i + 1]) then
    redis.call('ZREM', K.noticesDue, id)
    redis.call('HDEL', K.notices, id)
    ended = ended + 1
    if outcome ~= '' then
      redis.call('LPUSH', K.noticesRecent, outcome)
      recorded = true
    end
  end
end
if recorded then
  redis.call('LTRIM', K.noticesRecent, 0, 199)
end
return ended
