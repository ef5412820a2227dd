-- readFrameOrder: the sort key of some children on one numeric column of the frame table
-- (coordinator/web/frames.ts selectFrames, the same rule): progress (1 once succeeded), start (startTime),
-- duration (run seconds without paused time, until the view's time while it runs; none for a job never
-- started or finished without an endTime) or attempts. Two strings, not a row per job: a reply of 2,000 short
-- strings per 1,000 jobs costs the caller more to decode than the reading costs Redis. A job that does not
-- exist is skipped. ARGV: prefix, now, view time (ms), column, id... Returns {"id,id,...", "value,value,..."}
-- ('' for none).
-- @read-only
local at, column = tonumber(ARGV[3]), ARGV[4]
local ids, values = {}, {}
for i = 5, #ARGV do
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
    ids[#ids + 1] = ARGV[i]
    values[#values + 1] = value and string.format('%.17g', value) or ''
  end
end
return { table.concat(ids, ','), table.concat(values, ',') }
