-- readOutput: the next piece of a job's output for a live viewer (the job page, `openhq tail -f`), read in one
-- step so the text and the offsets agree. Offsets count every byte of the current attempt's log.
-- A log (includes/logKeys.lua) has its bytes [0, base) in the file store and [base, bytes) in the :q list: a
-- viewer behind `base` gets no text here but `base`, `z` and `n`, and reads that part from the file store
-- (coordinator/logs).
-- ARGV: prefix, now, id, sent (the viewer's offset; negative = start that many bytes before the end),
-- attempt (the one the viewer follows; "" = none yet), max bytes to return.
-- Returns false (no such job) or {status, progress, attempt, newSent, skipped, text, base, z, n}. Reads only.
-- @read-only
-- @include newestChunks
local id = ARGV[3]
local key = K.job(id)
local f = redis.call('HMGET', key, 'status', 'progress', 'seqAttempt')
if not f[1] then
  return false
end
local attempt = f[3] or ''
local bytes, base, z, n = 0, 0, 0, 0
local lk = K.jobLog(id, attempt)
local list = K.jobLogQueueOf(lk)
local m = redis.call('HMGET', lk, 'bytes', 'base', 'z', 'n')
local record = redis.call('HGET', key, 'log:' .. attempt)
if m[1] then
  bytes, base, z, n = tonumber(m[1]), tonumber(m[2]), m[3], m[4]
elseif record then
  local b, zz, nn = string.match(record, '^(%d+) (%d+) (%d+)')
  bytes, base, z, n = tonumber(b), tonumber(b), zz, nn
end
local sent, room = tonumber(ARGV[4]), tonumber(ARGV[6])
-- A new attempt starts a new output: the viewer starts again from its beginning.
if attempt ~= ARGV[5] and sent >= 0 then
  sent = 0
end
local skipped = 0
if sent < 0 then
  sent = math.max(0, bytes + sent)
  skipped = sent
end
local parts = {}
local function take(text)
  parts[#parts + 1] = text
  sent = sent + #text
  room = room - #text
end

if sent >= base and sent < bytes and room > 0 then
  local chunks, start = newestChunks(list, bytes, sent)
  if sent < start then
    skipped = skipped + (start - sent)
    sent = start
  end
  local pos = start
  for _, chunk in ipairs(chunks) do
    if room <= 0 then
      break
    end
    if pos + #chunk > sent then
      take(string.sub(chunk, sent - pos + 1, math.min(#chunk, sent - pos + room)))
    end
    pos = pos + #chunk
  end
end
return { f[1], f[2] or '0', attempt, tostring(sent), tostring(skipped), table.concat(parts), tostring(base), z, n }
