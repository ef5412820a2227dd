-- recordHeartbeat: one heartbeat of a client in one call (10,000 blades send 2,000 a second): its numbers and
-- link state on its record, its time in {p}clients:heartbeat, and the jobs Redis gives it, which the link
-- compares with what the agent says it runs (link/connection.ts findLostJobs). A client whose record lost
-- its registration (no hostname: removed, or a failover lost the hello) is left alone: the link asks for a
-- new hello.
-- ARGV: prefix, now, client id, heartbeat time (ms), then the record's field/value pairs.
-- Returns false when the client has no record, else the ids of its jobs.
local id = ARGV[3]
local key = K.client(id)
if redis.call('HEXISTS', key, 'hostname') == 0 then
  return false
end
local fields = {}
for i = 5, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
redis.call('HSET', key, unpack(fields))
redis.call('ZADD', K.clientHeartbeats, ARGV[4], id)
return redis.call('SMEMBERS', K.clientJobs(id))
