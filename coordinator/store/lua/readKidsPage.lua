-- readKidsPage: one page of a parent's frame table from its index of children (includes/kidsIndex.lua), with
-- the counts and the failures panel, without reading any child but the few failure examples: bounded by the
-- page, not by the parent's size.
-- ARGV: prefix, now, parent, offset, count, desc (1|0), panel groups, failure message ('' for none), status...
-- (none: every child). The page is the children in those statuses (or of that failure message), ordered by id
-- (descending with desc), from `offset`. Returns { {status, n, ...} (each status with children),
-- {message, n, example, ...} (the largest `panel groups` failure groups; example: one child's lastError),
-- failure groups in all, matching children in all, {id...} (the page) }.
-- @read-only
local parent, offset, count = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local desc, panel, message = ARGV[6] == '1', tonumber(ARGV[7]), ARGV[8]

local counts = {}
for _, s in ipairs(KID_STATUSES) do
  local n = redis.call('ZCARD', K.jobKids(parent, s))
  if n > 0 then
    counts[#counts + 1] = s
    counts[#counts + 1] = n
  end
end

local groups = {}
local top = redis.call('ZREVRANGE', K.jobFailures(parent), 0, panel - 1, 'WITHSCORES')
for i = 1, #top, 2 do
  local first = redis.call('ZRANGE', K.jobFailedKids(parent, failureGroup(top[i])), 0, 0)[1]
  groups[#groups + 1] = top[i]
  groups[#groups + 1] = top[i + 1]
  groups[#groups + 1] = first and redis.call('HGET', K.job(first), 'lastError') or ''
end

local keys = {}
if message ~= '' then
  keys[1] = K.jobFailedKids(parent, failureGroup(message))
elseif #ARGV < 9 then
  for i, s in ipairs(KID_STATUSES) do
    keys[i] = K.jobKids(parent, s)
  end
else
  for i = 9, #ARGV do
    keys[#keys + 1] = K.jobKids(parent, ARGV[i])
  end
end
local total = 0
for _, k in ipairs(keys) do
  total = total + redis.call('ZCARD', k)
end
if desc then
  -- The same page counted from the other end.
  local last = total - offset
  offset = math.max(0, last - count)
  count = last - offset
end

local page = {}
if count > 0 and offset < total then
  if #keys == 1 then
    page = redis.call('ZRANGE', keys[1], offset, offset + count - 1)
  else
    -- Scores are child ids, each in one set: find the id at rank `offset` of the union by bisection on
    -- ZCOUNT (O(log) each), then take `count` from each set from there and merge.
    local lo, hi = nil, nil
    for _, k in ipairs(keys) do
      local first = redis.call('ZRANGE', k, 0, 0, 'WITHSCORES')[2]
      local final = redis.call('ZRANGE', k, -1, -1, 'WITHSCORES')[2]
      if first then
        lo = math.min(lo or tonumber(first), tonumber(first))
        hi = math.max(hi or tonumber(final), tonumber(final))
      end
    end
    while lo < hi do
      local mid = math.floor((lo + hi) / 2)
      local below = 0
      for _, k in ipairs(keys) do
        below = below + redis.call('ZCOUNT', k, '-inf', string.format('%d', mid))
      end
      if below >= offset + 1 then
        hi = mid
      else
        lo = mid + 1
      end
    end
    local ids = {}
    for _, k in ipairs(keys) do
      for _, id in ipairs(redis.call('ZRANGEBYSCORE', k, string.format('%d', lo), '+inf', 'LIMIT', 0, count)) do
        ids[#ids + 1] = tonumber(id)
      end
    end
    table.sort(ids)
    for i = 1, math.min(count, #ids) do
      page[i] = string.format('%d', ids[i])
    end
  end
end
if desc then
  local reversed = {}
  for i = #page, 1, -1 do
    reversed[#reversed + 1] = page[i]
  end
  page = reversed
end
return { counts, groups, redis.call('ZCARD', K.jobFailures(parent)), total, page }
