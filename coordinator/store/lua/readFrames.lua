-- readFrames: the frame-table fields of many jobs (coordinator/store/job-frames.ts), one HMGET per job inside
-- Redis, answered as one string per job: "id US status US clients US progress US startTime US endTime US
-- attempt US pausedMs US pausedAt US lastError US name" (US = \31; lastError only for a job not succeeded, and
-- without control characters; the name last: it is the only field that may hold any character). A job that
-- does not exist is skipped. Read-only.
-- ARGV: prefix, now, id...
-- @read-only
local out = {}
for i = 3, #ARGV do
  local v = redis.call('HMGET', K.job(ARGV[i]), 'status', 'clients', 'progress', 'startTime', 'endTime',
    'attempt', 'pausedMs', 'pausedAt', 'lastError', 'name')
  if v[1] then
    out[#out + 1] = table.concat({ ARGV[i], v[1], v[2] or '', v[3] or '', v[4] or '', v[5] or '', v[6] or '',
      v[7] or '', v[8] or '', v[1] ~= 'succeeded' and v[9] or '', v[10] or '' }, '\31')
  end
end
return out
