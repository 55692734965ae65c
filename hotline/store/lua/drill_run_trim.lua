-- Keep the console's past drill runs to a bound (hotline/drill/runs.py): the runs given,
-- read beyond the bound, are deleted if they still are beyond it and are not the active run.
--
-- KEYS[1] drill:runs (zset)   KEYS[2] drill:active   KEYS[3..] drill:run:{id} of each candidate
-- ARGV[1] keep (how many runs to keep)   ARGV[2..] the candidates' ids, in KEYS' order
-- Returns how many runs were deleted.

local keep, active, n = tonumber(ARGV[1]), redis.call('GET', KEYS[2]), 0
for i = 2, #ARGV do
  local id = ARGV[i]
  local rank = redis.call('ZREVRANK', KEYS[1], id)
  if rank and rank >= keep and id ~= active then
    redis.call('ZREM', KEYS[1], id)
    redis.call('DEL', KEYS[i + 1])
    n = n + 1
  end
end
return n
