-- The notice outbox (coordinator/notices/outbox.ts): a transition that someone wants to hear of is written
-- here in the same script that makes it, so a crash between the two cannot lose it. A job wants a notice of
-- status S when its `mailOn` field (",succeeded,failed,": emailReasons, written at submit only when emailTo
-- is given too) lists S and the farm sends mail, or when a webhook of the farm wants S ({p}notices:on, written
-- by the coordinators at start). A farm with neither pays one HMGET of a missing key per status change.
--
-- A transition waits in {p}notices:new, a list: one RPUSH, on every job's path, where an id, a body in the
-- hash and a due time would cost four writes. A claim (claimNotices.lua) gives it those when it takes it.
-- The bound counts both: the transitions waiting and the notices in {p}notices:due.
local NOTICE_MAX_DEFAULT = 10000

-- Past the bound: the oldest transition not yet claimed goes, or when none waits the notice due first; counted.
local function dropOldestNotice()
  if not redis.call('LPOP', K.noticesNew) then
    local oldest = redis.call('ZPOPMIN', K.noticesDue)
    redis.call('HDEL', K.notices, oldest[1])
  end
  redis.call('INCR', K.noticesDropped)
end

-- Zero-padded, so that among notices due at the same ms the oldest sorts first.
local function noticeId(n)
  return string.format('%012d', n)
end

-- Adds one notice (JSON text), due at `due` (now, or the end of its sender's lease: fanOutNotices.lua).
local function addNotice(body, due)
  local id = noticeId(redis.call('INCR', K.noticeSeq))
  redis.call('HSET', K.notices, id, body)
  redis.call('ZADD', K.noticesDue, due, id)
  local max = tonumber(redis.call('HGET', K.noticesOn, 'max')) or NOTICE_MAX_DEFAULT
  if redis.call('ZCARD', K.noticesDue) + redis.call('LLEN', K.noticesNew) > max then
    dropOldestNotice()
  end
  return id
end

local function noticeOnStatus(id, key, old, new, now)
  local on = redis.call('HMGET', K.noticesOn, new, 'mail', 'max')
  if not on[1] then
    local mailOn = on[2] and redis.call('HGET', key, 'mailOn')
    if not mailOn or not string.find(mailOn, ',' .. new .. ',', 1, true) then
      return
    end
  end
  local waiting = redis.call('RPUSH', K.noticesNew, '{"type":"transition","jobId":' .. id .. ',"status":"' ..
    new .. '","from":"' .. (old or '') .. '","at":' .. now .. '}')
  if waiting + redis.call('ZCARD', K.noticesDue) > (tonumber(on[3]) or NOTICE_MAX_DEFAULT) then
    dropOldestNotice()
  end
end
