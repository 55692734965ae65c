-- One link of a self-rescheduling timer chain (the sweep, the shift boundaries): set the
-- next firing, unless one is already set for later than now and no later than `at`.
-- The check and the timer are one step, so two workers starting the chain at once set
-- one timer, and no crash can leave the mark without its timer.
--
-- KEYS[1] timer:{name} (string: clock time of the next firing)  KEYS[2] timers (zset)
-- ARGV[1] now  ARGV[2] at  ARGV[3] the timer's member in `timers` (timers.member)
-- ARGV[4] "1" to drop the mark first (a chain known to be dead)
-- Returns 1 if this call set the timer, else 0.

if ARGV[4] == '1' then redis.call('DEL', KEYS[1]) end
local current = tonumber(redis.call('GET', KEYS[1]))
local now, at = tonumber(ARGV[1]), tonumber(ARGV[2])
if current and now < current and current <= at then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return 1
