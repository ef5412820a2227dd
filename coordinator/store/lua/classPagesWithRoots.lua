-- classPagesWithRoots: what store/queue.ts classPages reads (the next jobs of each class, from a score), with
-- each job's root, in one call: the dispatcher needs roots while some client is blocklisted for a job tree
-- (scheduler/dispatch.ts), and a second round trip per page read cost it a third of its rate.
-- ARGV: prefix, now, then (cls, from, count) per class. Returns per class {id, score, …} and {root, …}.
-- @read-only
local out = {}
for i = 3, #ARGV - 2, 3 do
  local flat = redis.call('ZRANGEBYSCORE', K.queueClass(ARGV[i]), ARGV[i + 1], '+inf', 'WITHSCORES', 'LIMIT', 0,
    tonumber(ARGV[i + 2]))
  local roots = {}
  for k = 1, #flat, 2 do
    roots[#roots + 1] = redis.call('HGET', K.job(flat[k]), 'root') or flat[k]
  end
  out[#out + 1] = flat
  out[#out + 1] = roots
end
return out
