-- The notice outbox (coordinator/notices/outbox.ts): a transition that someone wants to hear of is written
-- here in the same script that makes it, so a crash between the two cannot lose it. A job wants a notice of
-- status S when its `mailOn` field (",succeeded,failed,": emailReasons, written at submit only when emailTo
-- is given too) lists S and the farm sends mail, or when a webhook of the farm wants S ({p}notices:on, written
-- by the coordinators at start). A farm with neither pays one HMGET of a missing key per status change.
local NOTICE_MAX_DEFAULT = 10000

-- Adds one notice (JSON text), due at `due` (now, or the end of its sender's lease: fanOutNotices.lua); past
-- the bound the notice due first (the oldest) is dropped and counted. Ids are zero-padded so that among
-- notices due at the same ms the oldest sorts first.
local function addNotice(body, due)
  local id = string.format('%012d', redis.call('INCR', K.noticeSeq))
  redis.call('HSET', K.notices, id, body)
  redis.call('ZADD', K.noticesDue, due, id)
  local max = tonumber(redis.call('HGET', K.noticesOn, 'max')) or NOTICE_MAX_DEFAULT
  if redis.call('ZCARD', K.noticesDue) > max then
    local oldest = redis.call('ZPOPMIN', K.noticesDue)
    redis.call('HDEL', K.notices, oldest[1])
    redis.call('INCR', K.noticesDropped)
  end
  return id
end

local function noticeOnStatus(id, key, old, new, now)
  local on = redis.call('HMGET', K.noticesOn, new, 'mail')
  if not on[1] then
    local mailOn = on[2] and redis.call('HGET', key, 'mailOn')
    if not mailOn or not string.find(mailOn, ',' .. new .. ',', 1, true) then
      return
    end
  end
  addNotice('{"type":"transition","jobId":' .. id .. ',"status":"' .. new .. '","from":"' .. (old or '') ..
    '","at":' .. now .. '}', now)
end
