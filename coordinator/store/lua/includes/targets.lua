-- @include util
-- The jobs a cascading operation touches: each given id and all its descendants, each once, parents first.
-- Fails (before any change) when an id does not exist. ARGV[3..] are the ids.
local function cascadeTargets(prefix, firstArg)
  local given = {}
  for i = firstArg, #ARGV do
    given[#given + 1] = ARGV[i]
  end
  local err = requireJobs(prefix, given)
  if err then
    return nil, err
  end
  local out, seen = {}, {}
  for _, id in ipairs(given) do
    for _, d in ipairs(subtree(prefix, id)) do
      local n = tonumber(d)
      if not seen[n] then
        seen[n] = true
        out[#out + 1] = n
      end
    end
  end
  return out, nil
end
