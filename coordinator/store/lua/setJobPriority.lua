-- setJobPriority: sets the priority of the given jobs and their descendants; a runnable job keeps its place
-- in arrival order but moves to its new priority band in {p}queue.
-- ARGV: prefix, now, priority, id... Returns the number of jobs changed.
-- @include setStatus
-- @include targets
local now, priority = nowArg(), tonumber(ARGV[3])
local count, err = changeTargets(4, function(id, key)
  local old = numField(key, 'priority', 0)
  if old == priority then
    return false
  end
  redis.call('HSET', key, 'priority', priority)
  appendLog(key, 'priorityChanged to ' .. priority, now)
  local score = redis.call('ZSCORE', K.queue, id)
  if score then
    local seq = tonumber(score) + old * QUEUE_SHIFT
    queueAt(id, redis.call('HGET', key, 'cls') or storeClass(key), -priority * QUEUE_SHIFT + seq)
  end
  return true
end)
if err then
  return err
end
if count > 0 then
  redis.call('PUBLISH', K.eventsChannel, '{"type":"jobs","priorityChanged":' .. count .. '}')
end
return count
