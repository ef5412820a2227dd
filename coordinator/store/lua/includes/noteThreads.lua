-- Note threads (coordinator/store/notes.ts): the owner's mirror fields `threadId` / `latestNote` follow the
-- thread's newest note, and dropThread removes a thread with its notes and its owner index entry.

-- The job or client hash that owns thread `tid`, or nil for a free-standing thread.
local function threadOwnerKey(tid)
  local t = redis.call('HMGET', K.thread(tid), 'jobId', 'clientId')
  if t[1] then
    return K.job(t[1])
  end
  if t[2] then
    return K.client(t[2])
  end
  return nil
end

-- Points the owner's mirror at the thread's newest note, or clears it when the thread has none left.
local function refreshMirror(tid)
  local owner = threadOwnerKey(tid)
  if not owner or redis.call('EXISTS', owner) == 0 then
    return
  end
  local newest = redis.call('ZRANGE', K.threadNotes(tid), -1, -1)[1]
  if newest then
    local text = redis.call('HGET', K.note(newest), 'text') or ''
    redis.call('HSET', owner, 'threadId', tid, 'latestNote', text)
  else
    redis.call('HDEL', owner, 'threadId', 'latestNote')
  end
end

local function dropThread(tid)
  local tkey = K.thread(tid)
  local owner = redis.call('HMGET', tkey, 'jobId', 'clientId')
  for _, nid in ipairs(redis.call('ZRANGE', K.threadNotesOf(tkey), 0, -1)) do
    redis.call('DEL', K.note(nid))
  end
  redis.call('DEL', K.threadNotesOf(tkey))
  refreshMirror(tid)
  if owner[1] then
    redis.call('HDEL', K.threadsByJob, owner[1])
  end
  if owner[2] then
    redis.call('HDEL', K.threadsByClient, owner[2])
  end
  redis.call('DEL', tkey)
  redis.call('ZREM', K.threads, tid)
end

-- Adds a note to the thread of a client or a job (mode 'client' | 'job', creating the thread on its first
-- note), to thread `target` (mode 'thread', a new free-standing one when there is no such thread), or to a new
-- free-standing thread (mode 'new'). The owner must exist. Returns the note id.
local function addNoteTo(mode, target, text, now)
  local tid = false
  if mode == 'client' or mode == 'job' then
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
end
