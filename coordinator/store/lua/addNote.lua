-- addNote: adds a note to the thread of a client or a job (creating the thread on its first note), to an
-- existing thread, or to a new free-standing thread (mode 'thread' with an unknown id, or mode 'new').
-- ARGV: prefix, now, text, mode (client|job|thread|new), target id. Returns the note id; NOTFOUND for an
-- unknown client or job.
-- @include noteThreads
local p, now, text, mode, target = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local tid = false
if mode == 'client' or mode == 'job' then
  if redis.call('EXISTS', p .. mode .. ':' .. target) == 0 then
    return redis.error_reply('NOTFOUND ' .. mode .. '_id: no ' .. mode .. ' ' .. target)
  end
  tid = redis.call('HGET', p .. 'threads:by' .. (mode == 'job' and 'Job' or 'Client'), target)
elseif mode == 'thread' and redis.call('EXISTS', p .. 'thread:' .. target) == 1 then
  tid = target
end
if not tid then
  tid = redis.call('INCR', p .. 'ids:thread')
  if mode == 'client' or mode == 'job' then
    redis.call('HSET', p .. 'thread:' .. tid, mode .. 'Id', target)
    redis.call('HSET', p .. 'threads:by' .. (mode == 'job' and 'Job' or 'Client'), target, tid)
  else
    redis.call('HSET', p .. 'thread:' .. tid, 'created', now)
  end
  redis.call('ZADD', p .. 'threads', tid, tid)
end
local nid = redis.call('INCR', p .. 'ids:note')
redis.call('HSET', p .. 'note:' .. nid, 'text', text, 'date', now, 'threadId', tid)
redis.call('ZADD', p .. 'thread:' .. tid .. ':notes', nid, nid)
refreshMirror(p, tid)
return nid
