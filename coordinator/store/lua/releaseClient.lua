-- releaseClient: an admin ends a client's quarantine and probation at once (includes/bladeHealth.lua). Its
-- recent failures are forgotten, so the next one does not quarantine it again by itself.
-- ARGV: prefix, now, client id. Returns 1 when the client was quarantined or on probation, else 0;
-- NOTFOUND for an unknown client.
-- @include bladeHealth
local now, cid = nowArg(), ARGV[3]
if redis.call('EXISTS', K.client(cid)) == 0 then
  return redis.error_reply('NOTFOUND client_id: no client ' .. cid)
end
redis.call('DEL', K.clientFails(cid))
redis.call('ZREM', K.bladesQuarantined, cid)
if redis.call('HDEL', K.client(cid), 'quarantinedUntil', 'probation', 'quarantineReason') == 0 then
  return 0
end
bladeEvent(cid, { t = now, event = 'released', why = 'released by an administrator' })
addNoteTo('client', cid, 'Released from quarantine by an administrator.', now)
bladeChanged(cid)
return 1
