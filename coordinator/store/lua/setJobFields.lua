-- setJobFields: sets plain fields of one job that no transition depends on (showBlockedClientsWarning,
-- conditions from savePermittedClientsList, waitingFor, clientsOnHold). An empty value removes the field.
-- ARGV: prefix, now, id, field, value, [field, value]... Returns 1.
-- @include util
local id = ARGV[3]
local key = K.job(id)
if redis.call('EXISTS', key) == 0 then
  return redis.error_reply('NOTFOUND job ' .. id .. ' does not exist')
end
local classChanged = false
for i = 4, #ARGV - 1, 2 do
  if ARGV[i + 1] == '' then
    redis.call('HDEL', key, ARGV[i])
  else
    redis.call('HSET', key, ARGV[i], ARGV[i + 1])
  end
  classChanged = classChanged or ARGV[i] == 'conditions'
end
-- New conditions make a new requirement class: a queued job moves to it, keeping its place.
if classChanged then
  reclass(id)
end
-- A job event without a status: fields that dispatch reads (conditions) may have changed.
redis.call('PUBLISH', K.eventsChannel, '{"type":"job","jobId":' .. id .. '}')
return 1
