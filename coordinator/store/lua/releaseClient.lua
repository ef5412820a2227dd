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
if endQuarantine(cid, now, 'released by an administrator', 'Released from quarantine by an administrator.') then
  return 1
end
return 0
