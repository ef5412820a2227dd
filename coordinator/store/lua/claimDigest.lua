-- claimDigest: the one coordinator whose turn it is to send the digest of server errors: at most one per
-- period farm-wide. Answers the time the previous digest covered up to (errors after it go in this one), or
-- false when the period has not passed yet. ARGV: prefix, now, periodMs.
local now, period = tonumber(ARGV[2]), tonumber(ARGV[3])
local last = tonumber(redis.call('GET', K.noticesDigest))
if last and now - last < period then
  return false
end
redis.call('SET', K.noticesDigest, now)
return tostring(last or (now - period))
