-- claimDigest: the one coordinator whose turn it is to send the digest of server errors: at most one per
-- period farm-wide. Answers "since:until": this digest has the errors recorded after `since` (where the
-- previous one ended) up to `until` (now), so each error is in one digest, or false when the period has not
-- passed yet. ARGV: prefix, now, periodMs.
local now, period = nowArg(), tonumber(ARGV[3])
local last = tonumber(redis.call('GET', K.noticesDigest))
if last and now - last < period then
  return false
end
redis.call('SET', K.noticesDigest, now)
return string.format('%d:%d', last or (now - period), now)
