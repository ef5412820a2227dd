-- removeClient: takes a machine out of the farm for good (removeClients). Deletes its record and everything
-- kept per client (assigned-jobs set, history, load samples, error log, note thread, bad-blade records), drops it from its
-- groups, and keeps its credential's digest under its label in {p}clients:removed: the removed agent's
-- credential is refused from then on, while a new machine (no credential) may enrol under the same name and
-- gets a new id. Changes nothing while jobs are still assigned to the client: the caller sends them back to
-- the queue first, as for a lost machine (coordinator/link/crash.ts), and calls again.
-- ARGV: prefix, now, clientId. Returns 1 when removed, 0 when there is no such client, or else the ids of
-- the jobs still assigned to it.
-- @include noteThreads
-- @include bladeHealth
local cid = ARGV[3]
local key = K.client(cid)
if redis.call('EXISTS', key) == 0 then
  return 0
end
local held = redis.call('SMEMBERS', K.clientJobsOf(key))
if #held > 0 then
  return held
end
local c = redis.call('HMGET', key, 'label', 'credential', 'revokedCredential', 'groups')
local label, credential, groups = c[1], c[2] or c[3], c[4]
if groups and groups ~= '' then
  for _, gid in ipairs(cjson.decode(groups)) do
    redis.call('SREM', K.groupClients(string.format('%d', gid)), cid)
  end
end
local thread = redis.call('HGET', K.threadsByClient, cid)
if thread then
  dropThread(thread)
end
if label then
  if redis.call('HGET', K.clientsByLabel, label) == cid then
    redis.call('HDEL', K.clientsByLabel, label)
  end
  if credential then
    redis.call('HSET', K.clientsRemoved, label, credential)
  end
end
redis.call('DEL', key, K.clientJobsOf(key), K.clientHistoryOf(key), K.clientLoadOf(key), K.clientErrors(cid))
dropBladeOf(cid)
redis.call('ZREM', K.clients, cid)
redis.call('ZREM', K.clientHeartbeats, cid)
redis.call('PUBLISH', K.eventsChannel, '{"type":"farm"}')
return 1
