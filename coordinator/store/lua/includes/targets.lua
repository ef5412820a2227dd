-- @include util
-- The jobs a cascading operation touches: each given id and all its descendants, each once, parents first.
-- Fails (before any change) when an id does not exist. ARGV[firstArg..] are the ids; when ARGV[firstArg] is
-- 'flat' the ids after it are the whole list, descendants included (a bulk operation the job store runs in
-- chunks, store/jobs.ts).
local function cascadeTargets(firstArg)
  local flat = ARGV[firstArg] == 'flat'
  local given, err = givenJobs(flat and firstArg + 1 or firstArg)
  if err then
    return nil, err
  end
  if flat then
    local out = {}
    for i, id in ipairs(given) do
      out[i] = tonumber(id)
    end
    return out, nil
  end
  -- Each given job's subtree less the jobs already listed, whose own subtrees are listed too.
  local out, seen = {}, {}
  for _, id in ipairs(given) do
    reach(out, seen, tonumber(id), 'children')
  end
  return out, nil
end

-- Calls change(id, key, status) on each job of cascadeTargets(firstArg), parents first (children
-- first when `childrenFirst`). Returns how many calls returned true, or nil and the NOTFOUND reply.
local function changeTargets(firstArg, change, childrenFirst)
  local targets, err = cascadeTargets(firstArg)
  if err then
    return nil, err
  end
  local from, to, step = 1, #targets, 1
  if childrenFirst then
    from, to, step = #targets, 1, -1
  end
  local count = 0
  for i = from, to, step do
    local id = targets[i]
    local key = K.job(id)
    if change(id, key, redis.call('HGET', key, 'status')) then
      count = count + 1
    end
  end
  return count, nil
end
