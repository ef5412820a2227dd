-- addNote: adds a note to the thread of a client or a job (creating the thread on its first note), to an
-- existing thread, or to a new free-standing thread (mode 'thread' with an unknown id, or mode 'new').
-- ARGV: prefix, now, text, mode (client|job|thread|new), target id. Returns the note id; NOTFOUND for an
-- unknown client or job.
-- @include noteThreads
local now, text, mode, target = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local tid = false
if mode == 'client' or mode == 'job' then
  if redis.call('EXISTS', mode == 'job' and K.job(target) or K.client(target)) == 0 then
    return redis.error_reply('NOTFOUND ' .. mode .. '_id: no ' .. mode .. ' ' .. target)
  end
  tid = redis.call('HGET', (mode == 'job' and K.threadsByJob or K.threadsByClient), target)
elseif mode == 'thread' and redis.call('EXISTS', K.thread(target)) == 1 then
  tid = target
end
if not tid then
  tid = redis.call('INCR', K.ids('thread'))
  if mode == 'client' or mode == 'job' then
    redis.call('HSET', K.thread(tid), mode .. 'Id', target)
    redis.call('HSET', (mode == 'job' and K.threadsByJob or K.threadsByClient), target, tid)
  else
    redis.call('HSET', K.thread(tid), 'created', now)
  end
  redis.call('ZADD', K.threads, tid, tid)
end
local nid = redis.call('INCR', K.ids('note'))
redis.call('HSET', K.note(nid), 'text', text, 'date', now, 'threadId', tid)
redis.call('ZADD', K.threadNotes(tid), nid, nid)
refreshMirror(tid)
return nid
