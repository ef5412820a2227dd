-- removeNote: removes one note. A thread's first note goes only once it is the last one left, and removing
-- a thread's last note removes the thread. ARGV: prefix, now, note id. Returns 1 when removed, 0 when not
-- (unknown, or the first note of a longer thread).
-- @include noteThreads
local nid = ARGV[3]
local tid = redis.call('HGET', K.note(nid), 'threadId')
if not tid then
  return 0
end
local nkey = K.threadNotes(tid)
if redis.call('ZCARD', nkey) <= 1 then
  dropThread(tid)
  return 1
end
if redis.call('ZRANGE', nkey, 0, 0)[1] == nid then
  return 0
end
redis.call('DEL', K.note(nid))
redis.call('ZREM', nkey, nid)
refreshMirror(tid)
return 1
