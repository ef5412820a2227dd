-- scanJobs: one chunk of the dashboard jobs list's bounded scan (store/job-list.ts): of the given jobs, those
-- whose name and submittedBy contain the needles (case-insensitive, plain text; "" = any), each with the
-- value of the field the list sorts by. Only matches travel back. Read-only; ~1,000 ids a call (a few ms).
-- ARGV: prefix, now, name needle (lower case), submitter needle (lower case), sort field ("" = none), id...
-- Returns {id, sort value (false when absent), id, ...}.
-- @read-only
local name, submitter, sortField = ARGV[3], ARGV[4], ARGV[5]
local fields = { 'name', 'submittedBy' }
if sortField ~= '' then
  fields[3] = sortField
end
local out = {}
for i = 6, #ARGV do
  local v = redis.call('HMGET', K.job(ARGV[i]), unpack(fields))
  if v[1]
    and (name == '' or string.find(string.lower(v[1]), name, 1, true))
    and (submitter == '' or string.find(string.lower(v[2] or ''), submitter, 1, true))
  then
    out[#out + 1] = tonumber(ARGV[i])
    out[#out + 1] = v[3] or false
  end
end
return out
