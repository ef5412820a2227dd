-- retryNotice: a claimed delivery failed; it is due again at `dueAt` with its body updated (the tries so
-- far). A stale claim (see replaceNotice.lua) changes nothing and answers 0.
-- ARGV: prefix, now, id, token, dueAt, body, outcome (JSON, or "").  Returns 1, or 0.
local id, token, dueAt, body, outcome = ARGV[3], ARGV[4], tonumber(ARGV[5]), ARGV[6], ARGV[7]
if tonumber(redis.call('ZSCORE', K.noticesDue, id)) ~= tonumber(token) then
  return 0
end
redis.call('ZADD', K.noticesDue, dueAt, id)
redis.call('HSET', K.notices, id, body)
if outcome ~= '' then
  redis.call('LPUSH', K.noticesRecent, outcome)
  redis.call('LTRIM', K.noticesRecent, 0, 199)
end
return 1
