-- readLog: where the log of attempt A of a job is, read in one step so the parts agree: the committed part
-- of its file (base bytes, z compressed, n index records) and the newest chunks still in Redis.
-- ARGV: prefix, now, id, attempt ("" = the job's latest: seqAttempt), tailBytes (0 = every chunk in Redis;
-- else only the newest chunks holding at least that many bytes).
-- Returns false (no such job) or {attempt, kind, bytes, base, z, n, cut, sha, from, chunk...}: `from` is the
-- offset of the first chunk returned (>= base), and kind is
-- 'live' (keys in Redis), 'sealed' (all in the file store) or 'none' (no output).
-- @read-only
-- @include newestChunks
local id, tailBytes = ARGV[3], tonumber(ARGV[5])
local key = K.job(id)
local f = redis.call('HMGET', key, 'status', 'seqAttempt')
if not f[1] then
  return false
end
local attempt = ARGV[4]
if attempt == '' then
  attempt = f[2] or ''
end
if attempt == '' then
  return { '', 'none', 0, 0, 0, 0, -1, '', 0 }
end
local lk = K.jobLog(id, attempt)
local m = redis.call('HMGET', lk, 'bytes', 'base', 'z', 'n', 'cut')
if m[1] then
  local reply = { attempt, 'live', m[1], m[2], m[3], m[4], m[5], '', m[2] }
  local list = K.jobLogQueueOf(lk)
  if tailBytes <= 0 then
    for _, c in ipairs(redis.call('LRANGE', list, 0, -1)) do
      reply[#reply + 1] = c
    end
    return reply
  end
  local bytes = tonumber(m[1])
  local chunks, start = newestChunks(list, bytes, bytes - tailBytes)
  reply[9] = tostring(start)
  for _, c in ipairs(chunks) do
    reply[#reply + 1] = c
  end
  return reply
end
local record = redis.call('HGET', key, 'log:' .. attempt)
if record then
  local b, z, n, c, sha = string.match(record, '^(%d+) (%d+) (%d+) (%-?%d+) (%x*)')
  return { attempt, 'sealed', b, b, z, n, c, sha, b }
end
return { attempt, 'none', 0, 0, 0, 0, -1, '', 0 }
