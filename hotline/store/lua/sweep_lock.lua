-- The sweep's lock (sweep.py): take it, renew it, release it -- by the injected clock.
--
-- KEYS[1] sweep:lock (string "<until> <token>")
-- ARGV[1] mode: take | renew | release   ARGV[2] now (epoch s, the clock's)   ARGV[3] our token
-- ARGV[4] how long the lock holds from now (clock seconds; take and renew)
-- Returns 1 when done (taken, renewed, released), 0 when the lock is another's.
--
-- The lock holds until a time of the clock, not for a Redis TTL: a Redis TTL is real
-- time, and it survives what kills its holder. A sweep SIGKILLed mid-run -- or cut off by
-- Redis itself being SIGKILLed, since the lock is in the AOF -- left a 300 s TTL that
-- blocked every sweep (and the reconciliation after the outage) for 300 real seconds,
-- five simulated hours at a test's 60x. By the clock, the next sweep after `until` takes
-- over, at any clock speed. A value it cannot read (an older format) is stale. The TTL
-- set here only tidies away a lock nobody will ask for again.

local mode, now, token = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local v = redis.call('GET', KEYS[1])
local untl, holder
if v then
  local u, t = string.match(v, '^(%S+) (%S+)$')
  untl, holder = tonumber(u), t
end

if mode == 'take' then
  if holder and holder ~= token and untl and untl > now then return 0 end
elseif holder ~= token then
  return 0
end
if mode == 'release' then
  redis.call('DEL', KEYS[1])
  return 1
end
local hold = tonumber(ARGV[4])
redis.call('SET', KEYS[1], string.format('%.6f', now + hold) .. ' ' .. token, 'EX', 86400)
return 1
