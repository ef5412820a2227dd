-- readOutput: the next piece of a job's output for a live viewer (the job page, `openhq tail -f`), read in one
-- step so the text and the offsets agree. Offsets count every byte the current attempt produced (outBytes).
-- Under the cap the :output key holds it all; once capped it holds the head [0, outHead) and the :output:tail
-- list the newest chunks (appendOutput.lua), and what lies between is reported as skipped.
-- ARGV: prefix, now, id, sent (the viewer's offset; negative = start that many bytes before the end),
-- attempt (the one the viewer follows; "" = none yet), max bytes to return.
-- Returns false (no such job) or {status, progress, attempt, newSent, skipped, text}. Reads only.
local prefix, id = ARGV[1], ARGV[3]
local key = prefix .. 'job:' .. id
local f = redis.call('HMGET', key, 'status', 'progress', 'seqAttempt', 'outBytes', 'outHead')
if not f[1] then
  return false
end
local attempt = f[3] or ''
local bytes = tonumber(f[4] or '0') or 0
local head = tonumber(f[5] or '')
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

local inKey = head or bytes
if sent < inKey and room > 0 then
  take(redis.call('GETRANGE', key .. ':output', sent, math.min(inKey, sent + room) - 1))
end
if head and sent >= head and sent < bytes and room > 0 then
  -- Walk the tail list back from its newest chunk only as far as the viewer's offset: a viewer that keeps
  -- up reads a chunk or two, not the whole tail.
  local list = key .. ':output:tail'
  local chunks, start, last = {}, bytes, -1
  while start > sent do
    local page = redis.call('LRANGE', list, last - 15, last)
    if #page == 0 then
      break
    end
    for j = #page, 1, -1 do
      table.insert(chunks, 1, page[j])
      start = start - #page[j]
      if start <= sent then
        break
      end
    end
    last = last - 16
  end
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
return { f[1], f[2] or '0', attempt, tostring(sent), tostring(skipped), table.concat(parts) }
