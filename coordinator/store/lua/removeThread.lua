-- removeThread: removes a note thread and its notes, and clears its owner's mirror.
-- ARGV: prefix, now, thread id. Returns 1 when removed, 0 when there was no such thread.
-- @include noteThreads
local tid = ARGV[3]
if redis.call('EXISTS', K.thread(tid)) == 0 then
  return 0
end
dropThread(tid)
return 1
