-- Claim the timers due now for one pump pass (hotline/timers.py): each due member moves
-- from `timers` to `timers:claimed` with a lease, so that no other pump claims it; a
-- claim whose lease ran out (its claimer died before releasing it) is claimed again.
--
-- KEYS[1] timers (zset: member -> due, clock s)
-- KEYS[2] timers:claimed (zset: member -> lease end, real s)
-- ARGV[1] now (clock s)  ARGV[2] real now (s)  ARGV[3] new lease end (real s)  ARGV[4] at most this many
-- Returns the claimed members (stale claims first, then by due time).

local limit = tonumber(ARGV[4])
local out = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[2], 'LIMIT', 0, limit)
for _, m in ipairs(out) do redis.call('ZADD', KEYS[2], ARGV[3], m) end
if #out < limit then
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, limit - #out)
  for _, m in ipairs(due) do
    redis.call('ZREM', KEYS[1], m)
    redis.call('ZADD', KEYS[2], ARGV[3], m)
    out[#out + 1] = m
  end
end
return out
