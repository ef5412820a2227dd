-- addNote: adds a note to the thread of a client or a job (creating the thread on its first note), to an
-- existing thread, or to a new free-standing thread (mode 'thread' with an unknown id, or mode 'new').
-- ARGV: prefix, now, text, mode (client|job|thread|new), target id. Returns the note id; NOTFOUND for an
-- unknown client or job.
-- @include noteThreads
local now, text, mode, target = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if (mode == 'client' or mode == 'job')
  and redis.call('EXISTS', mode == 'job' and K.job(target) or K.client(target)) == 0 then
  return redis.error_reply('NOTFOUND ' .. mode .. '_id: no ' .. mode .. ' ' .. target)
end
return addNoteTo(mode, target, text, now)
