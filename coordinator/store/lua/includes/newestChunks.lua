-- The one way a reader takes the newest chunks of a log's :q list: from its end back, 16 at a time, until
-- they reach back to log offset `from` (or the list ends). `bytes` is the log offset just past the list's last chunk. Returns the chunks, oldest first, and the
-- log offset of the first. A reader that keeps up reads a chunk or two, not the whole list.
local function newestChunks(list, bytes, from)
  local chunks, start, last = {}, bytes, -1
  while start > from do
    local page = redis.call('LRANGE', list, last - 15, last)
    if #page == 0 then
      break
    end
    for j = #page, 1, -1 do
      table.insert(chunks, 1, page[j])
      start = start - #page[j]
      if start <= from then
        break
      end
    end
    last = last - 16
  end
  return chunks, start
end
