-- Job log keys (coordinator/logs). For attempt A of job J while its output is arriving or not all on disk:
--   {p}job:J:log:A      HASH  bytes (of the log so far), base (bytes already in the file store), z and n
--                             (compressed bytes and index records of the file that are committed), cut (-1, or
--                             the bytes dropped by openhq.maxOutputBytes / openhq.maxLogBytes)
--   {p}job:J:log:A:q    LIST  the chunks not in the file store yet (bytes - base of them), oldest first
-- Once sealed (every byte on disk), only the job hash field log:A = "bytes z n cut sha256" is left.
--   {p}logs:open        ZSET  "J:A" of every unsealed attempt -> when a sweep should look at it next (ms)
--   {p}logs:trash       ZSET  ids of deleted jobs whose files are still to be removed -> deletion time (ms)
--   {p}logs:bytes       STRING compressed bytes in the file store (for openhq.maxLogBytes)

-- On deleting job `id` (hash `key`): drops its log keys and queues its files for removal.
local function dropLogs(key, id, now)
  local attempts = tonumber(redis.call('HGET', key, 'attempt')) or 0
  for a = 1, attempts do
    local lk = K.jobLog(id, a)
    redis.call('DEL', lk, K.jobLogQueueOf(lk))
    redis.call('ZREM', K.logsOpen, id .. ':' .. a)
  end
  redis.call('ZADD', K.logsTrash, now, id)
end
