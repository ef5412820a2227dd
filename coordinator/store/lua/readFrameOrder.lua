-- readFrameOrder: the first `k` of some children in the frame table's order on a numeric column
-- (coordinator/web/frames.ts selectFrames, the same rule): progress (1 once succeeded), start (startTime),
-- duration (run seconds without paused time, until `now` while it runs; none for a job finished without an
-- endTime) or attempts; jobs without a value last, ties by id. The caller reads the children in chunks of
-- ~1,000 and merges the chunks' heads, so only k per chunk cross the wire. A job that does not exist is skipped.
-- ARGV: prefix, now, view time (ms), column, desc (1|0), k, id... Returns {n (jobs found), id, value ('' for
-- none), ...}.
-- @read-only
local at, column, desc, k = tonumber(ARGV[3]), ARGV[4], ARGV[5] == '1', tonumber(ARGV[6])
local entries = {}
for i = 7, #ARGV do
  local v = redis.call('HMGET', K.job(ARGV[i]), 'status', 'progress', 'startTime', 'endTime', 'pausedMs',
    'pausedAt', 'attempt')
  if v[1] then
    local value
    if column == 'progress' then
      value = v[1] == 'succeeded' and 1 or (tonumber(v[2]) or 0)
    elseif column == 'start' then
      value = tonumber(v[3])
    elseif column == 'attempts' then
      value = tonumber(v[7]) or 0
    elseif v[3] and (v[4] or not FINISHED[v[1]]) then
      local stop = tonumber(v[4]) or at
      local pausedAt = tonumber(v[6])
      local stopped = pausedAt and math.max(0, stop - pausedAt) or 0
      value = math.max(0, stop - tonumber(v[3]) - (tonumber(v[5]) or 0) - stopped) / 1000
    end
    entries[#entries + 1] = { tonumber(ARGV[i]), value }
  end
end
table.sort(entries, function(a, b)
  if (a[2] == nil) ~= (b[2] == nil) then
    return b[2] == nil
  end
  if a[2] ~= nil and a[2] ~= b[2] then
    if desc then
      return a[2] > b[2]
    end
    return a[2] < b[2]
  end
  return a[1] < b[1]
end)
local out = { #entries }
for i = 1, math.min(k, #entries) do
  out[#out + 1] = string.format('%d', entries[i][1])
  out[#out + 1] = entries[i][2] and string.format('%.17g', entries[i][2]) or ''
end
return out
