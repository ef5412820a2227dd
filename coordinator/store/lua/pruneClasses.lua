-- pruneClasses: brings {p}queue:heads up to date for the given requirement classes: an empty class leaves
-- it, any other gets its head's exact score. Leaving jobs do not update heads themselves (util.lua), so the
-- scheduler calls this for classes it found empty, and its maintenance for the first classes now and then.
-- ARGV: prefix, now, cls... Returns the number of classes dropped.
-- @include util
local dropped = 0
for i = 3, #ARGV do
  local head = redis.call('ZRANGE', K.queueClass(ARGV[i]), 0, 0, 'WITHSCORES')
  if #head == 0 then
    dropped = dropped + redis.call('ZREM', K.queueHeads, ARGV[i])
  else
    redis.call('ZADD', K.queueHeads, head[2], ARGV[i])
  end
end
return dropped
