-- readOutput: the next piece of a job's output for a live viewer (the job page, `openhq tail -f`), read in one
-- step so the text and the offsets agree. Offsets count every byte of the current attempt's log.
-- A log (includes/logKeys.lua) has its bytes [0, base) in the file store and [base, bytes) in the :q list: a
-- viewer behind `base` gets no text here but `base`, `z` and `n`, and reads that part from the file store
-- (coordinator/logs). Output kept by an older openhq (legacy: the :output key, once capped its head [0,
-- outHead) and the :output:tail list) is read here, and what lies between is reported as skipped.
-- ARGV: prefix, now, id, sent (the viewer's offset; negative = start that many bytes before the end),
-- attempt (the one the viewer follows; "" = none yet), max bytes to return.
-- Returns false (no such job) or {status, progress, attempt, newSent, skipped, text, base, z, n}. Reads only.
-- @read-only
-- @include newestChunks
local id = ARGV[3]
local key = K.job(id)
local f = redis.call('HMGET', key, 'status', 'progress', 'seqAttempt', 'outBytes', 'outHead')
if not f[1] then
  return false
end
local attempt = f[3] or ''
local bytes, head, base, z, n = tonumber(f[4] or '0') or 0, tonumber(f[5] or ''), 0, 0, 0
local list = K.jobOutputTailOf(key)
local lk = K.jobLog(id, attempt)
local m = redis.call('HMGET', lk, 'bytes', 'base', 'z', 'n')
local record = redis.call('HGET', key, 'log:' .. attempt)
if m[1] then
  bytes, base, z, n, head, list = tonumber(m[1]), tonumber(m[2]), m[3], m[4], nil, K.jobLogQueueOf(lk)
elseif record then
  local b, zz, nn = string.match(record, '^(%d+) (%d+) (%d+)')
  bytes, base, z, n, head = tonumber(b), tonumber(b), zz, nn, nil
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

if m[1] or record then
  head = base
elseif head == nil then
  -- Legacy, under its cap: all of it in the :output key.
  head = bytes
  if sent < bytes and room > 0 then
    take(redis.call('GETRANGE', K.jobOutputOf(key), sent, math.min(bytes, sent + room) - 1))
  end
elseif sent < head and room > 0 then
  take(redis.call('GETRANGE', K.jobOutputOf(key), sent, math.min(head, sent + room) - 1))
end
if sent >= head and sent < bytes and room > 0 then
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
